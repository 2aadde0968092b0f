// The MegEngine Lite C API exported by the megengine 1.13.0 wheel's liblite_shared_whl.so.
//
// The wheel ships the library but no headers. These declarations are ours, written from the
// wheel's own ctypes binding (megenginelite/{base,network,tensor,global_setting}.py), which is the
// authoritative list of what the library exports and of the struct layouts. Only the C API is
// declared: the library's C++ API uses the old libstdc++ ABI and cannot be mixed with Debian's
// OpenCV in one binary.
//
// Every LITE_* function returns 0 on success and -1 on failure; LITE_get_last_error() then holds
// the (process-global) message, which can be empty after a failed load.
#ifndef THIRD_PARTY_MEGENGINELITE_LITE_C_H_
#define THIRD_PARTY_MEGENGINELITE_LITE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LITE_MAX_DIM 7

typedef void* LiteNetwork;
typedef void* LiteTensor;

typedef enum { LITE_DEFAULT = 0 } LiteBackend;

typedef enum {
  LITE_CPU = 0,
  LITE_CUDA = 1,
  LITE_ATLAS = 3,
  LITE_NPU = 4,
  LITE_CAMBRICON = 5,
  LITE_DEVICE_DEFAULT = 7,
} LiteDeviceType;

typedef enum {
  LITE_FLOAT = 0,
  LITE_HALF = 1,
  LITE_INT = 2,
  LITE_INT16 = 3,
  LITE_INT8 = 4,
  LITE_UINT8 = 5,
  LITE_UINT16 = 6,
} LiteDataType;

typedef enum { LITE_IO = 0, LITE_INPUT = 1, LITE_OUTPUT = 2 } LiteTensorPhase;

typedef enum { LITE_IO_VALUE = 0, LITE_IO_SHAPE = 1 } LiteIOType;

// Flags; they combine (e.g. PROFILE | REPRODUCIBLE).
typedef enum {
  LITE_ALGO_HEURISTIC = 1,
  LITE_ALGO_PROFILE = 2,
  LITE_ALGO_REPRODUCIBLE = 4,
  LITE_ALGO_OPTIMIZED = 8,
} LiteAlgoSelectStrategy;

typedef enum { LITE_LOG_DEBUG = 0, LITE_LOG_INFO = 1, LITE_LOG_WARN = 2, LITE_LOG_ERROR = 3 } LiteLogLevel;

typedef struct {
  size_t shapes[LITE_MAX_DIM];
  size_t ndim;
  LiteDataType data_type;
} LiteLayout;

typedef struct {
  int is_pinned_host;
  LiteLayout layout;
  LiteDeviceType device_type;
  int device_id;
} LiteTensorDesc;

// Field order must match megenginelite/network.py's LiteOptions exactly.
typedef struct {
  int weight_preprocess;
  int fuse_preprocess;
  int fake_next_exec;
  int var_sanity_check_first_run;
  int const_shape;
  int force_dynamic_alloc;
  int force_output_dynamic_alloc;
  int force_output_use_user_specified_memory;
  int no_profiling_on_shape_change;
  int jit_level;
  int comp_node_seq_record_level;
  int graph_opt_level;
  int async_exec_level;
  int enable_nchw44;
  int enable_nchw44_dot;
  int enable_nchw88;
  int enable_nhwcd4;
  int enable_nchw4;
  int enable_nchw32;
  int enable_nchw64;
} LiteOptions;

typedef struct {
  int has_compression;
  int device_id;
  LiteDeviceType device_type;
  LiteBackend backend;
  char* bare_model_cryption_name;
  LiteOptions options;
  int auto_optimize_inference;
  char* discrete_input_name;
} LiteConfig;

typedef struct {
  int disable_configure_by_model_info;
} LiteExtraConfig;

typedef struct {
  const char* name;
  int is_host;
  LiteIOType io_type;
  LiteLayout config_layout;
} LiteIO;

typedef struct {
  const LiteIO* inputs;
  const LiteIO* outputs;
  size_t input_size;
  size_t output_size;
} LiteNetworkIO;

// Exported functions returning the library's defaults (the data symbols are not exported).
LiteConfig* default_config(void);
LiteNetworkIO* default_network_io(void);

// Global.
int LITE_get_version(int* major, int* minor, int* patch);
const char* LITE_get_last_error(void);
void LITE_clear_last_error(void);
int LITE_set_log_level(LiteLogLevel level);
int LITE_get_log_level(LiteLogLevel* level);
int LITE_set_persistent_cache(const char* cache_path, int always_sync);
int LITE_dump_persistent_cache(const char* cache_path);
int LITE_try_coalesce_all_free_memory(void);

// Network.
int LITE_make_default_network(LiteNetwork* network);
int LITE_make_network(LiteNetwork* network, const LiteConfig config, const LiteNetworkIO network_io);
int LITE_load_model_from_mem(LiteNetwork network, void* model_mem, size_t size);
int LITE_load_model_from_path(LiteNetwork network, const char* model_path);
int LITE_destroy_network(LiteNetwork network);
int LITE_forward(const LiteNetwork network);
int LITE_wait(const LiteNetwork network);
int LITE_get_io_tensor(LiteNetwork network, const char* io_name, LiteTensorPhase phase, LiteTensor* tensor);
int LITE_get_input_name(const LiteNetwork network, size_t index, const char** name);
int LITE_get_output_name(const LiteNetwork network, size_t index, const char** name);
int LITE_get_all_input_name(const LiteNetwork network, size_t* size, const char** name);
int LITE_get_all_output_name(const LiteNetwork network, size_t* size, const char** name);
int LITE_set_cpu_threads_number(LiteNetwork network, size_t nr_threads);
int LITE_get_cpu_threads_number(const LiteNetwork network, size_t* nr_threads);
int LITE_set_cpu_inplace_mode(LiteNetwork network);
int LITE_is_cpu_inplace_mode(const LiteNetwork network, int* is_cpu_inplace_mode);
int LITE_set_network_algo_policy(LiteNetwork network, LiteAlgoSelectStrategy strategy);
int LITE_set_network_algo_fastrun_config(LiteNetwork network, unsigned int shared_batch_size,
                                         int binary_equal_between_batch);
int LITE_set_network_algo_workspace_limit(LiteNetwork network, size_t workspace_limit);
int LITE_enable_profile_performance(LiteNetwork network, const char* profile_json_file_path);
int LITE_enable_global_layout_transform(LiteNetwork network);
int LITE_dump_layout_transform_model(LiteNetwork network, const char* dump_file_path);
int LITE_get_static_memory_alloc_info(LiteNetwork network, const char* log_dir);
int LITE_extra_configure(LiteNetwork network, LiteExtraConfig extra_config);
int LITE_get_model_io_info_by_path(const char* model_path, const LiteConfig config, LiteNetworkIO* ios);

// Packed models' info and decryption (MegEngine's lite-c/include/lite-c/{network_c,global_c}.h; the
// wheel exports both, its ctypes binding wraps only the second). Our programs call neither: they read
// packed files themselves (cc/packed_model.h); cc/packed_model_test.cc holds Lite's reading to ours.
// The extra_info of a loaded packed model's info section, as JSON (Lite re-serialises it), *info_size bytes.
int LITE_get_model_extra_info(const LiteNetwork network, const char** info, int* info_size);
typedef size_t (*LiteDecryptionFunc)(const void* input_data, size_t input_size, const uint8_t* key_data,
                                     size_t key_size, const void* output_data);
// A process-wide table: func NULL keeps the method (e.g. the built-in "AES_default"), a key of size 0
// keeps the key.
int LITE_update_decryption_or_key(const char* decrypt_name, const LiteDecryptionFunc func, const uint8_t* key_data,
                                  size_t key_size);

// Tensor.
int LITE_make_tensor(const LiteTensorDesc tensor_describe, LiteTensor* tensor);
int LITE_destroy_tensor(LiteTensor tensor);
int LITE_set_tensor_layout(LiteTensor tensor, const LiteLayout layout);
int LITE_reset_tensor_memory(LiteTensor tensor, void* prepared_data, size_t data_length_in_byte);
int LITE_reset_tensor(LiteTensor tensor, const LiteLayout layout, void* prepared_data);
int LITE_tensor_reshape(LiteTensor tensor, const int* shape, int size);
int LITE_tensor_fill_zero(LiteTensor tensor);
int LITE_tensor_copy(LiteTensor dst_tensor, const LiteTensor src_tensor);
int LITE_get_tensor_memory(const LiteTensor tensor, void** data);
int LITE_get_tensor_total_size_in_byte(const LiteTensor tensor, size_t* size);
int LITE_get_tensor_layout(const LiteTensor tensor, LiteLayout* layout);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // THIRD_PARTY_MEGENGINELITE_LITE_C_H_
