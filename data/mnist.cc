// IDX -> LMDB conversion.
#include "data/mnist.h"

#include <cstdio>
#include <vector>

#include "data/datum.h"
#include "data/idx.h"
#include "data/lmdb.h"

namespace banyan {

Status convert_mnist(const std::string& images_path, const std::string& labels_path,
                     const std::string& out_path, const ConvertMnistOptions& options,
                     int64_t* count) {
  IdxImages images;
  BANYAN_RETURN_IF_ERROR(read_idx_images(images_path, &images));
  std::vector<uint8_t> labels;
  BANYAN_RETURN_IF_ERROR(read_idx_labels(labels_path, &labels));
  if (static_cast<size_t>(images.count) != labels.size()) {
    return Status::invalid_argument("'" + images_path + "' holds " + std::to_string(images.count) +
                                    " images but '" + labels_path + "' holds " +
                                    std::to_string(labels.size()) +
                                    " labels; expected the same count");
  }
  BANYAN_RETURN_IF_ERROR(prepare_new_lmdb(out_path, options.overwrite));
  LmdbWriter writer;
  BANYAN_RETURN_IF_ERROR(LmdbWriter::open(out_path, LmdbWriterOptions(), &writer));
  DatumRecord record;
  record.channels = 1;
  record.height = images.rows;
  record.width = images.cols;
  const size_t image_bytes = static_cast<size_t>(images.rows) * images.cols;
  char key[16];
  for (int i = 0; i < images.count; ++i) {
    record.data.assign(reinterpret_cast<const char*>(images.pixels.data()) + i * image_bytes,
                       image_bytes);
    record.label = labels[i];
    std::snprintf(key, sizeof(key), "%08d", i);
    BANYAN_RETURN_IF_ERROR(writer.put(key, serialize_datum(record)));
  }
  BANYAN_RETURN_IF_ERROR(writer.close());
  if (count != nullptr) *count = images.count;
  return Status::success();
}

}  // namespace banyan
