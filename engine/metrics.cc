// JSON-lines formatting (string escaping, numbers with 7 significant digits,
// enough for float values) and the appending writer.
#include "engine/metrics.h"

#include <glog/logging.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace banyan {
namespace {

void append_string(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void append_number(double v, std::string* out) {
  if (!std::isfinite(v)) {
    *out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7g", v);
  *out += buf;
}

}  // namespace

std::string format_metrics_line(const MetricsLine& line) {
  std::string out = "{\"iter\":" + std::to_string(line.iter) + ",\"phase\":";
  append_string(line.phase, &out);
  for (const auto& [name, value] : line.values) {
    out.push_back(',');
    append_string(name, &out);
    out.push_back(':');
    append_number(value, &out);
  }
  out.push_back('}');
  return out;
}

Status MetricsWriter::open(const std::string& path, MetricsWriter* out) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return Status::io_error("cannot open metrics file '" + path + "': " + std::strerror(errno));
  }
  out->path_ = path;
  out->file_.reset(f);
  return Status::success();
}

Status MetricsWriter::write(const MetricsLine& line) {
  CHECK(file_ != nullptr) << "metrics writer used before Open";
  const std::string text = format_metrics_line(line) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size() ||
      std::fflush(file_.get()) != 0) {
    return Status::io_error("cannot write metrics file '" + path_ + "': " + std::strerror(errno));
  }
  return Status::success();
}

}  // namespace banyan
