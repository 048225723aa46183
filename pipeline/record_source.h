// Where the input pipeline's records come from: an LMDB of Datum records (the
// Data layer), or an image list whose records are image files with their
// labels in the list (the ImageData layer).  LMDB records are read by the
// reader stage, a batch per transaction, and a read error is a failure of the
// source; image files are read by the decode threads (parallel reads), and a
// file that cannot be read is a bad record like a corrupt one.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// Thread safety: after open, every method may be called concurrently.
class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // True for image files (label_at gives the label), false for Datum records.
  virtual bool image_files() const = 0;
  virtual size_t size() const = 0;
  virtual const std::string& path() const = 0;
  // "LMDB '<path>'" or "image list '<path>'", for messages.
  virtual std::string describe() const = 0;
  // How messages name a record: "LMDB '<path>' record '<key>'" or
  // "image '<file>' (<list>:<line>)".
  virtual std::string record_name(size_t position) const = 0;
  // The label of an image file record (0 for Datum records).
  virtual int label_at(size_t /*position*/) const { return 0; }
  // Copies record `position`'s bytes into `*value`.  An image file that
  // cannot be read: NotFound or IoError with the reason (the caller names
  // the record).
  virtual Status get_at(size_t position, std::string* value) const = 0;
  // Reads the records at `positions` into (*values)[i] (resized).
  virtual Status get_batch(const std::vector<size_t>& positions,
                           std::vector<std::string>* values) const = 0;
};

// The LMDB directory `path` (LmdbReader::open's errors); InvalidArgument
// naming it when it is empty or has 2^32 records or more.
Status open_lmdb_source(const std::string& path, std::unique_ptr<RecordSource>* out);

// The image list `list_file` (read_image_list's errors), files at
// `root_folder` + path (plain concatenation, as Caffe does).
Status open_image_list_source(const std::string& list_file, const std::string& root_folder,
                              std::unique_ptr<RecordSource>* out);

}  // namespace banyan
