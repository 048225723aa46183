// Device naming and --devices parsing.
#include "engine/core/device.h"

#include <cctype>
#include <sstream>

namespace banyan {

std::string Device::to_string() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(id); }

Status parse_device_list(const std::string& text, std::vector<Device>* out) {
  out->clear();
  if (text.empty()) {
    out->push_back(Device::cpu());
    return Status::success();
  }
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "cpu") {
      out->push_back(Device::cpu());
      continue;
    }
    bool digits = !item.empty() && item.size() < 6;
    for (char c : item) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) {
      return Status::invalid_argument("--devices: entry '" + item + "' in '" + text +
                                      "' is neither 'cpu' nor a GPU id (0, 1, ...)");
    }
    out->push_back(Device::cuda(std::stoi(item)));
  }
  if (out->empty() || text.back() == ',') {
    return Status::invalid_argument("--devices: empty entry in '" + text + "'");
  }
  return Status::success();
}

}  // namespace banyan
