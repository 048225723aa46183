// HDF5 reading: RAII handles around hid_t, the library's automatic error
// printing silenced while Banyan reads (it reports its own errors).
#include "data/hdf5.h"

#include <hdf5.h>

#include <filesystem>

namespace banyan {
namespace {

// An hid_t closed by `close` (H5Fclose, H5Dclose, ...) when valid.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Turns off HDF5's printing of its error stack for this thread's calls
// while alive; restores the previous handler.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

Status read_dataset(hid_t file, const std::string& path, const std::string& name, bool with_values,
                    Hdf5Array* out) {
  const std::string what = "dataset '" + name + "' of HDF5 file '" + path + "'";
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    return Status::not_found(what + " does not exist");
  }
  Handle set(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) return Status::data_loss(what + " cannot be opened");
  Handle type(H5Dget_type(set.get()), H5Tclose);
  const H5T_class_t type_class = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
    return Status::invalid_argument(what + " is not numeric; expected float or integer values");
  }
  Handle space(H5Dget_space(set.get()), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 1) {
    return Status::invalid_argument(what + " has no dimension; expected (N, ...)");
  }
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  out->dims.assign(dims.begin(), dims.end());
  size_t count = 1;
  for (hsize_t d : dims) count *= static_cast<size_t>(d);
  out->values.clear();
  if (!with_values) return Status::success();
  out->values.resize(count);
  if (count > 0 &&
      H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->values.data()) < 0) {
    return Status::data_loss(what + " cannot be read as float");
  }
  return Status::success();
}

Status read_file(const std::string& path, const std::vector<std::string>& names, bool with_values,
                 std::vector<Hdf5Array>* out) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::not_found("HDF5 file '" + path + "' does not exist");
  }
  QuietErrors quiet;
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return Status::data_loss("'" + path + "' is not a readable HDF5 file");
  out->resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    BANYAN_RETURN_IF_ERROR(read_dataset(file.get(), path, names[i], with_values, &(*out)[i]));
  }
  return Status::success();
}

}  // namespace

Status read_hdf5_datasets(const std::string& path, const std::vector<std::string>& names,
                          std::vector<Hdf5Array>* out) {
  return read_file(path, names, true, out);
}

Status read_hdf5_dims(const std::string& path, const std::vector<std::string>& names,
                      std::vector<Hdf5Array>* out) {
  return read_file(path, names, false, out);
}

}  // namespace banyan
