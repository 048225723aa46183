// NCCL communicators as RAII, move-only owners.  A communicator that saw a
// failure (marked by the owner, or an asynchronous NCCL error) is aborted on
// destruction instead of destroyed, so a failing worker releases its peers
// rather than leaving them waiting in a collective (STYLE: stop the group
// cleanly).  Initialisation errors (bad device lists, a broken fabric) come
// back as text.  A communicator is used by one worker thread.
#pragma once

#include <nccl.h>

#include <string>
#include <vector>

namespace banyan::cuda {

// A fresh id for NcclComm::init_rank; rank 0 creates it and hands it to all.
bool nccl_unique_id(ncclUniqueId* id, std::string* error);

class NcclComm {
 public:
  NcclComm() = default;
  ~NcclComm() { reset(); }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  NcclComm(NcclComm&& other) noexcept;
  NcclComm& operator=(NcclComm&& other) noexcept;

  // Joins communicator `id` as `rank` of `num_ranks` on `device`.  Blocks
  // until every rank has joined, so each rank calls it from its own thread.
  bool init_rank(int device, int num_ranks, const ncclUniqueId& id, int rank, std::string* error);

  // Healthy: ncclCommFinalize + ncclCommDestroy, which wait for the other
  // ranks to do the same (every rank's thread resets its own); failed:
  // ncclCommAbort, which does not wait.
  void reset();
  // Marks the communicator failed: reset() will abort it.
  void mark_failed() { failed_ = true; }
  // Aborts at once: cancels in-flight operations and frees the communicator.
  void abort();
  // "" when healthy; else NCCL's description of the asynchronous error (and
  // the communicator is marked failed).
  std::string async_error();

  ncclComm_t get() const { return comm_; }
  int device() const { return device_; }
  int rank() const { return rank_; }
  int num_ranks() const { return num_ranks_; }
  bool empty() const { return comm_ == nullptr; }

 private:
  friend class NcclCommGroup;
  void adopt(ncclComm_t comm, int device, int rank, int num_ranks);

  ncclComm_t comm_ = nullptr;
  int device_ = -1;
  int rank_ = 0;
  int num_ranks_ = 0;
  bool failed_ = false;
};

// All ranks of one communicator driven from one thread (ncclCommInitAll).
// Its reset finalizes the healthy members inside one NCCL group and then
// destroys them, as NCCL's examples do: finalizing them one by one, as
// separate NcclComm destructors would, waits on the others forever.
class NcclCommGroup {
 public:
  NcclCommGroup() = default;
  ~NcclCommGroup() { reset(); }
  NcclCommGroup(const NcclCommGroup&) = delete;
  NcclCommGroup& operator=(const NcclCommGroup&) = delete;
  NcclCommGroup(NcclCommGroup&&) noexcept = default;
  NcclCommGroup& operator=(NcclCommGroup&& other) noexcept;

  // Rank i on devices[i].  NCCL needs distinct physical devices: a repeated
  // id is an error (repeated ids use the tree exchange, DESIGN §5).
  bool init(const std::vector<int>& devices, std::string* error);
  void reset();

  NcclComm& operator[](int rank) { return comms_[static_cast<size_t>(rank)]; }
  int size() const { return static_cast<int>(comms_.size()); }

 private:
  std::vector<NcclComm> comms_;
};

}  // namespace banyan::cuda
