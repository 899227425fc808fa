#include "src/core/logging.h"

#include <cstdarg>
#include <cstdio>

namespace edgeopt {
namespace {

LogCallback g_callback = nullptr;
void* g_user_data = nullptr;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "log";
}

}  // namespace

void SetLogCallback(LogCallback callback, void* user_data) {
  g_callback = callback;
  g_user_data = user_data;
}

void Log(LogLevel level, const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  if (g_callback != nullptr) {
    g_callback(level, buffer, g_user_data);
  } else {
    std::fprintf(stderr, "edgeopt %s: %s\n", LevelName(level), buffer);
  }
}

}  // namespace edgeopt
