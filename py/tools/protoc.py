"""protoc, from the venv's grpcio-tools (//py:grpc_predict_v2 runs it at
build time: the generated modules are never committed). Arguments are protoc's."""
import sys

from grpc_tools import protoc

if __name__ == "__main__":
    sys.exit(protoc.main(["protoc"] + sys.argv[1:]))
