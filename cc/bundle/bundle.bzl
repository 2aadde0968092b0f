"""relocatable_bundle: programs, the libraries they load and a model, laid out to be copied anywhere.

The output is one directory (a tree artifact):
    bin/       the programs, their RUNPATH rewritten to $ORIGIN/../lib (patchelf)
    lib/       the Lite runtime libraries (liblite_shared_whl.so's own RPATH rewritten to $ORIGIN)
    models/    optional: a model (one packed file, or a model and its contract)
    samples/   optional: images to try it on
    BUNDLE.txt what the target machine needs (glibc, system libraries), sizes, a first command
The 1.5 GB libmegengine_shared.so is hard-linked from the venv when it can be (same file system),
so laying out the bundle costs no copy; the archive (tar) is a separate target.
"""

def _relocatable_bundle_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("--out", out.path)
    args.add("--version", ctx.attr.version)
    args.add_all(ctx.files.programs, before_each = "--program")
    args.add_all(ctx.files.libs, before_each = "--lib")
    args.add_all(ctx.files.model, before_each = "--model")
    args.add_all(ctx.files.samples, before_each = "--sample")
    ctx.actions.run(
        executable = ctx.executable._lay_out,
        arguments = [args],
        inputs = ctx.files.programs + ctx.files.libs + ctx.files.model + ctx.files.samples,
        outputs = [out],
        mnemonic = "LayOutBundle",
        progress_message = "Laying out %s" % out.short_path,
        # 1.6 GB of outputs: never copied into the disk cache (laying out again costs seconds), and
        # outside the sandbox, whose bind mounts would make the hard link fail (EXDEV) into a copy.
        execution_requirements = {"no-remote-cache": "1", "no-sandbox": "1"},
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

relocatable_bundle = rule(
    implementation = _relocatable_bundle_impl,
    attrs = {
        "programs": attr.label_list(mandatory = True, allow_files = True, cfg = "target"),
        "libs": attr.label_list(mandatory = True, allow_files = True),
        "model": attr.label_list(allow_files = [".mge", ".json", ".cache"]),
        "samples": attr.label_list(allow_files = True),
        "version": attr.string(mandatory = True),
        "_lay_out": attr.label(
            default = ":lay_out_bundle",
            executable = True,
            cfg = "exec",
        ),
    },
)
