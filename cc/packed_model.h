// Lite's packed model (one file: the graph, an info section, the fast-run cache), the twin of
// py/mgedeploy/packed_model.py: the same layout, checks and words. Writing is Python's
// (//py:export --pack); the C++ programs read it here.
#ifndef CC_PACKED_MODEL_H_
#define CC_PACKED_MODEL_H_

#include <stdexcept>
#include <string>

#include "cc/contract.h"
#include "cc/model_files.h"

namespace megdeploy {

// True when `bytes` starts with Lite's "packed_model" tag.
bool IsPacked(const std::string& bytes);

// A model as Lite gets it, its contract and an embedded fast-run cache (empty when none): from a
// sidecar model (ReadModel) or a packed file.
struct ModelAndContract {
  ModelFile graph;  // path: the packed file's; bytes and sha256: the graph's
  Contract contract;
  std::string fast_run_cache;
};

// Reads a packed ModelFile: ModelError "<path>: not a packed model we can read: <reason>" for
// damaged packing, and for a missing or wrong key or a modified file (an encrypted file's tag is
// checked under `key` before anything else is read, then its graph and info are decrypted);
// ContractError for a contract that is invalid or does not belong to the graph.
ModelAndContract ReadPacked(const ModelFile& model, const std::string& key = "");

}  // namespace megdeploy

#endif  // CC_PACKED_MODEL_H_
