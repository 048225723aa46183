// The two record sources: an LMDB (data/lmdb.h) and an image list
// (data/image_list.h) read file by file.
#include "pipeline/record_source.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include "data/image_list.h"
#include "data/lmdb.h"

namespace banyan {
namespace {

class LmdbSource : public RecordSource {
 public:
  explicit LmdbSource(LmdbReader reader) : reader_(std::move(reader)) {}

  bool image_files() const override { return false; }
  size_t size() const override { return reader_.size(); }
  const std::string& path() const override { return reader_.path(); }
  std::string describe() const override { return "LMDB '" + path() + "'"; }
  std::string record_name(size_t position) const override {
    return describe() + " record '" + std::string(reader_.key_at(position)) + "'";
  }
  Status get_at(size_t position, std::string* value) const override {
    return reader_.get_at(position, value);
  }
  Status get_batch(const std::vector<size_t>& positions,
                   std::vector<std::string>* values) const override {
    return reader_.get_batch(positions, values);
  }

 private:
  LmdbReader reader_;
};

class ImageListSource : public RecordSource {
 public:
  ImageListSource(std::string list_file, std::string root, std::vector<ImageListEntry> entries)
      : list_file_(std::move(list_file)), root_(std::move(root)), entries_(std::move(entries)) {}

  bool image_files() const override { return true; }
  size_t size() const override { return entries_.size(); }
  const std::string& path() const override { return list_file_; }
  std::string describe() const override { return "image list '" + list_file_ + "'"; }
  std::string record_name(size_t position) const override {
    const ImageListEntry& e = entries_[position];
    return "image '" + file_of(position) + "' (" + list_file_ + ":" + std::to_string(e.line) + ")";
  }
  int label_at(size_t position) const override { return entries_[position].label; }
  Status get_at(size_t position, std::string* value) const override {
    std::ifstream in(file_of(position), std::ios::binary);
    if (!in) {
      const int err = errno;
      return err == ENOENT
                 ? Status::not_found("the file does not exist")
                 : Status::io_error(std::string("cannot open the file: ") + std::strerror(err));
    }
    value->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::io_error("reading the file failed");
    return Status::success();
  }
  Status get_batch(const std::vector<size_t>& positions,
                   std::vector<std::string>* values) const override {
    values->resize(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) {
      Status s = get_at(positions[i], &(*values)[i]);
      if (!s.ok()) return s.with_context(record_name(positions[i]));
    }
    return Status::success();
  }

 private:
  std::string file_of(size_t position) const { return root_ + entries_[position].path; }

  std::string list_file_, root_;
  std::vector<ImageListEntry> entries_;
};

}  // namespace

Status open_lmdb_source(const std::string& path, std::unique_ptr<RecordSource>* out) {
  LmdbReader reader;
  BANYAN_RETURN_IF_ERROR(LmdbReader::open(path, &reader));
  if (reader.size() == 0) return Status::invalid_argument("source LMDB '" + path + "' is empty");
  if (reader.size() > UINT32_MAX) {
    return Status::invalid_argument("source LMDB '" + path + "' has more than 2^32 records");
  }
  *out = std::make_unique<LmdbSource>(std::move(reader));
  return Status::success();
}

Status open_image_list_source(const std::string& list_file, const std::string& root_folder,
                              std::unique_ptr<RecordSource>* out) {
  std::vector<ImageListEntry> entries;
  BANYAN_RETURN_IF_ERROR(read_image_list(list_file, &entries));
  if (entries.size() > UINT32_MAX) {
    return Status::invalid_argument("image list '" + list_file + "' has more than 2^32 images");
  }
  *out = std::make_unique<ImageListSource>(list_file, root_folder, std::move(entries));
  return Status::success();
}

}  // namespace banyan
