// A runtime-only runner: links edgeopt_runtime alone (no toolkit, no exceptions), as a device
// build would. Runs a .tflite once on zero inputs and prints the first output values.
//   edgeopt_run_min model.tflite
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "src/runtime/interpreter.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: edgeopt_run_min model.tflite\n");
    return 2;
  }
  const int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
    std::fprintf(stderr, "%s: cannot open\n", argv[1]);
    return 1;
  }
  void* data = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return 1;
  edgeopt::rt::InterpreterOptions options;
  auto interp = edgeopt::rt::Interpreter::Create(static_cast<const uint8_t*>(data),
                                                 static_cast<size_t>(st.st_size), options);
  if (!interp.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], interp.status().message().c_str());
    return 1;
  }
  edgeopt::Status s = (*interp)->Invoke();
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], s.message().c_str());
    return 1;
  }
  for (int i = 0; i < (*interp)->num_outputs(); ++i) {
    const edgeopt::rt::Tensor* t = (*interp)->output_tensor(i);
    std::printf("output %d: %s, %zu bytes\n", i, edgeopt::DTypeName(t->type), t->bytes);
  }
  munmap(data, st.st_size);
  return 0;
}
