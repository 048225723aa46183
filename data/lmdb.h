// LMDB access for datasets: a read-only reader with random access by key or
// by position, and a writer that commits in batches and grows the map as
// needed.  An LMDB is a directory holding data.mdb (and lock.mdb), as Caffe
// writes it.  Both classes are RAII and move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"

struct MDB_env;  // lmdb.h, kept out of this header

namespace banyan {

// Read-only view of one LMDB.  Open() loads every key once (in key order) so
// that records can be read by position, e.g. through a seeded permutation;
// that costs about (key length + 8) bytes per record.  Each read runs in its
// own short read-only transaction, so no transaction outlives a call.
// Thread safety: after Open, all const methods may be called concurrently
// (the environment is opened with MDB_NOTLS).
class LmdbReader {
 public:
  LmdbReader() = default;
  ~LmdbReader();
  LmdbReader(LmdbReader&& other) noexcept;
  LmdbReader& operator=(LmdbReader&& other) noexcept;
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  // Opens the LMDB directory `path`.  NotFound "LMDB '<path>' not found" when
  // it does not exist; IoError naming the path and LMDB's reason otherwise.
  // A directory that cannot be written (no lock file possible) is opened
  // without locking, which is safe as long as nobody writes to it meanwhile.
  static Status open(const std::string& path, LmdbReader* out);

  const std::string& path() const { return path_; }
  size_t size() const { return key_offsets_.empty() ? 0 : key_offsets_.size() - 1; }
  // Key of record `position` (< size()), in key order.
  std::string_view key_at(size_t position) const;
  std::vector<std::string> keys() const;

  // Copies the value of `key` into `*value`.  NotFound naming the key and path
  // when it is absent.
  Status get(std::string_view key, std::string* value) const;
  // Copies the value of record `position` (< size()) into `*value`.
  Status get_at(size_t position, std::string* value) const;
  // Reads the records at `positions` into (*values)[i] in one transaction;
  // `values` is resized to positions.size() and its strings reused.
  Status get_batch(const std::vector<size_t>& positions, std::vector<std::string>* values) const;

  // Calls `fn(key, value)` for every record in key order inside one read
  // transaction (for tools that scan a whole database); the views are valid
  // only during the call.  Stops at the first non-OK status and returns it.
  Status for_each(const std::function<Status(std::string_view, std::string_view)>& fn) const;

 private:
  void close();
  Status error(const std::string& what, int rc) const;
  Status load_keys();

  std::string path_;
  MDB_env* env_ = nullptr;
  unsigned int dbi_ = 0;             // MDB_dbi
  std::string key_bytes_;            // all keys, concatenated in key order
  std::vector<size_t> key_offsets_;  // key i is [offsets[i], offsets[i+1])
};

// Makes `path` ready for a new LMDB.  OK when nothing is there.  When it
// exists: InvalidArgument unless `overwrite`; with `overwrite`, an LMDB
// directory (holding only data.mdb and lock.mdb) is emptied, anything else is
// refused rather than deleted.
Status prepare_new_lmdb(const std::string& path, bool overwrite);

struct LmdbWriterOptions {
  // Puts per committed transaction.
  int batch_size = 1000;
  // Starting map size; doubled whenever a commit finds the map full.
  size_t initial_map_bytes = size_t{1} << 30;
};

// Writes records into an LMDB directory, creating it when missing.  Puts are
// buffered and committed every batch_size records; Close() commits the rest
// and flushes to disk.  Destroying a writer without Close() discards the
// puts not yet committed.  Not thread-safe.
class LmdbWriter {
 public:
  LmdbWriter() = default;
  ~LmdbWriter();
  LmdbWriter(LmdbWriter&& other) noexcept;
  LmdbWriter& operator=(LmdbWriter&& other) noexcept;
  LmdbWriter(const LmdbWriter&) = delete;
  LmdbWriter& operator=(const LmdbWriter&) = delete;

  // Opens (creating the directory if needed) the LMDB at `path` for writing.
  static Status open(const std::string& path, const LmdbWriterOptions& options, LmdbWriter* out);

  const std::string& path() const { return path_; }
  // Stores `value` under `key` (replacing an existing value).
  Status put(std::string_view key, std::string_view value);
  // Commits pending puts (growing the map when it is full).
  Status commit();
  // Commits, syncs to disk and closes.  Further puts are an error.
  Status close();
  // Longest key LMDB accepts (511 bytes in a default build).
  size_t max_key_bytes() const;
  // Current map size in bytes (grows by doubling).
  size_t map_bytes() const { return map_bytes_; }

 private:
  void release();
  Status error(const std::string& what, int rc) const;
  int try_commit();

  std::string path_;
  LmdbWriterOptions options_;
  MDB_env* env_ = nullptr;
  size_t map_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;
};

}  // namespace banyan
