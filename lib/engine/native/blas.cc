// Float32 products on OpenBLAS, straight on the tfjs wasm heap (N-API addon, C API).
//
//   sgemm(heap, a, b, c, batch, m, k, n, transA, transB, strideA, strideB, strideC)
//     for each i < batch:  C_i[m, n] = op(A_i) · op(B_i)   (row-major; op = transpose when set)
//     heap: a typed array over the wasm memory (a SharedArrayBuffer in the threaded build);
//     a, b, c: byte offsets of the first matrices; strides in floats between batch elements
//     (0 broadcasts that operand).
//   info()          "OpenBLAS 0.3.21 … (N threads)"
//   setThreads(n)   OpenBLAS's thread count
//
// The caller (lib/engine/wasm.ts) checks shapes and offsets against the tensors it owns; here we
// only check that every matrix lies inside the heap, so a bad call is an error, not a crash.
#include <node_api.h>
#include <cblas.h>

#include <cstdint>
#include <string>

extern "C" {
char* openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace {

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

bool GetInt64(napi_env env, napi_value value, int64_t* out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value args[13];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc != 13) return Throw(env, "sgemm: expected 13 arguments (heap, a, b, c, batch, m, k, n, transA, transB, strideA, strideB, strideC)");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, args[0], &type, &length, &data, &buffer, &byteOffset) != napi_ok || data == nullptr) {
    return Throw(env, "sgemm: heap must be a typed array over the wasm memory");
  }
  size_t elementSize = type == napi_float32_array ? 4 : type == napi_uint8_array ? 1 : 0;
  if (elementSize == 0) return Throw(env, "sgemm: heap must be a Float32Array or Uint8Array");
  const int64_t heapBytes = static_cast<int64_t>(length * elementSize);
  int64_t v[12];
  for (int i = 0; i < 12; i++) {
    if (!GetInt64(env, args[i + 1], &v[i])) return Throw(env, "sgemm: arguments 2–13 must be numbers");
  }
  const int64_t a = v[0], b = v[1], c = v[2], batch = v[3], m = v[4], k = v[5], n = v[6];
  const bool transA = v[7] != 0, transB = v[8] != 0;
  const int64_t strideA = v[9], strideB = v[10], strideC = v[11];
  if (batch < 1 || m < 1 || k < 1 || n < 1) return Throw(env, "sgemm: batch, m, k and n must be ≥ 1");
  if (a % 4 || b % 4 || c % 4) return Throw(env, "sgemm: offsets must be multiples of 4 bytes");
  // Last byte each operand touches, over all batch elements.
  auto end = [](int64_t offset, int64_t stride, int64_t batch, int64_t size) { return offset + 4 * (stride * (batch - 1) + size); };
  if (a < 0 || b < 0 || c < 0 || end(a, strideA, batch, m * k) > heapBytes || end(b, strideB, batch, k * n) > heapBytes ||
      end(c, strideC, batch, m * n) > heapBytes) {
    return Throw(env, "sgemm: a matrix lies outside the heap");
  }
  float* base = static_cast<float*>(data);
  const int lda = transA ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = transB ? static_cast<int>(k) : static_cast<int>(n);
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0f, base + a / 4 + i * strideA, lda, base + b / 4 + i * strideB, ldb, 0.0f,
                base + c / 4 + i * strideC, static_cast<int>(n));
  }
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  std::string text = std::string(openblas_get_config()) + " (" + std::to_string(openblas_get_num_threads()) + " threads)";
  napi_value out;
  napi_create_string_utf8(env, text.c_str(), text.size(), &out);
  return out;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  int64_t n;
  if (argc != 1 || !GetInt64(env, arg, &n) || n < 1) return Throw(env, "setThreads: give a positive thread count");
  openblas_set_num_threads(static_cast<int>(n));
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
