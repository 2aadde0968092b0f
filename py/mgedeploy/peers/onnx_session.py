"""ONNX Runtime on the network behind an exported model: the graph (graph.py) built from the
contract's weight record, and a session configured the one way every comparison uses (all graph
optimisations, `threads` intra-op threads, one inter-op thread, CPU only)."""


def serialized_graph(info):
    """The ONNX graph of the model a contract describes, serialized. It rebuilds the eager MegEngine
    model, so call it on the thread that imported megengine."""
    from mgedeploy.peers import onnx_graph as graph
    from mgedeploy.peers import eager as eager_model

    return graph.build(info["model"], eager_model.from_contract(info), info["input"]["name"],
                       info["input"]["shape"]).SerializeToString()


def options(threads):
    """The session options every comparison uses (profiling tools add to them)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def session(serialized, threads, session_options=None):
    """A CPU session; session_options: options(threads) with additions (profiling), else options(threads)."""
    import onnxruntime

    return onnxruntime.InferenceSession(serialized, session_options or options(threads),
                                        providers=["CPUExecutionProvider"])
