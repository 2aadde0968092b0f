"""hatchling build hook: the wheel holds C libraries built for x86-64 Linux, so it is tagged
py3-none-linux_x86_64, not py3-none-any (which would tell pip it installs anywhere; megengine,
which it needs, exists for x86-64 Linux only anyway)."""
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TAG = "py3-none-linux_x86_64"


class PlatformTagHook(BuildHookInterface):
    def initialize(self, version, build_data):
        build_data["pure_python"] = False
        build_data["tag"] = TAG
