// Device: where a worker's memory and compute live: the CPU or one CUDA device.
// Several workers may name the same device (DESIGN §4); each still owns its
// own memory and streams.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

enum class DeviceType { kCpu, kCuda };

struct Device {
  DeviceType type = DeviceType::kCpu;
  int id = 0;  // CUDA ordinal; 0 for the CPU

  static Device cpu() { return {DeviceType::kCpu, 0}; }
  static Device cuda(int ordinal) { return {DeviceType::kCuda, ordinal}; }
  bool is_cpu() const { return type == DeviceType::kCpu; }
  bool is_cuda() const { return type == DeviceType::kCuda; }
  // "cpu" or "cuda:N"
  std::string to_string() const;
  bool operator==(const Device& o) const { return type == o.type && id == o.id; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// Parses a --devices list: comma-separated "cpu" or non-negative GPU ids,
// repeats allowed ("0,0,1,cpu").  An empty string means one CPU worker.
Status parse_device_list(const std::string& text, std::vector<Device>* out);

}  // namespace banyan
