"""The model repository's flags, shared by //py:serve and //py:serve_ray (serving/repository.py)."""
from absl import flags

from mgedeploy.cli import paths, usage

MODEL_REPOSITORY = flags.DEFINE_string(
    "model_repository", None, "A directory of models in Triton's layout, DIR/<name>/<version>/model.mge with "
    "model.mge.json (and .fastrun) beside it, or one packed model.mge; <version> a positive integer. Served "
    "beside any --model.")
VERSION_POLICY = flags.DEFINE_string("version_policy", "latest:1", "Which versions of a repository model serve: "
                                     "latest:N (the N highest that load) or all. Requests without a version go to "
                                     "the highest serving.")
REPOSITORY_POLL_S = flags.DEFINE_float("repository_poll_s", 0.0, "Rescan --model_repository this often (seconds): "
                                       "a new or changed version loads and warms up in the background, then takes "
                                       "new requests; the old one finishes what it holds. 0: only on "
                                       "POST /v2/repository/models/<name>/load.")


def settings():
    """The app Settings' repository fields from the flags, checked (UsageError)."""
    from mgedeploy.serving import repository

    if not 0 <= REPOSITORY_POLL_S.value <= 86400:
        raise usage.UsageError("--repository_poll_s must be 0 to 86400, got %g" % REPOSITORY_POLL_S.value)
    if REPOSITORY_POLL_S.value and not MODEL_REPOSITORY.value:
        raise usage.UsageError("--repository_poll_s needs --model_repository")
    try:
        repository.parse_policy(VERSION_POLICY.value)
    except ValueError as e:
        raise usage.UsageError("--version_policy: %s" % e) from None
    root = paths.user_path(MODEL_REPOSITORY.value) if MODEL_REPOSITORY.value else None
    return {"model_repository": root, "version_policy": VERSION_POLICY.value,
            "repository_poll_s": REPOSITORY_POLL_S.value}
