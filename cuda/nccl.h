// NCCL communicators as RAII, move-only owners, always created non-blocking
// (ncclConfig_t::blocking = 0): no NCCL call ever blocks its caller, calls
// that are still being carried out return ncclInProgress, and the owner
// polls ncclCommGetAsyncError until the state settles.  So a thread is never
// stuck inside NCCL, and another thread can abort the communicator
// (ncclCommAbort) between polls without undefined behaviour: a failing
// worker releases its peers instead of leaving them waiting in a collective.
// A communicator that saw a failure is aborted on destruction instead of
// finalized.  Initialisation errors come back as text.  One communicator is
// used by one thread at a time (the owner serialises, e.g. with a mutex).
#pragma once

#include <nccl.h>

#include <functional>
#include <string>
#include <vector>

namespace banyan::cuda {

// A fresh id for NcclComm::init_rank; rank 0 creates it and hands it to all.
bool nccl_unique_id(ncclUniqueId* id, std::string* error);

// Polls `comm`'s asynchronous state until it is no longer ncclInProgress
// (sleeping briefly between polls) or `cancelled` (optional) returns true.
// Returns the settled state (ncclInProgress when cancelled).
ncclResult_t nccl_wait_settled(ncclComm_t comm, const std::function<bool()>& cancelled = {});

class NcclComm {
 public:
  NcclComm() = default;
  ~NcclComm() { reset(); }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  NcclComm(NcclComm&& other) noexcept;
  NcclComm& operator=(NcclComm&& other) noexcept;

  // Joins communicator `id` as `rank` of `num_ranks` on `device` and waits
  // until every rank has joined, so each rank calls it from its own thread.
  bool init_rank(int device, int num_ranks, const ncclUniqueId& id, int rank, std::string* error);

  // Healthy: ncclCommFinalize (waited for) + ncclCommDestroy, which need the
  // other ranks to do the same (every rank's thread resets its own); failed:
  // ncclCommAbort, which does not wait.
  void reset();
  // Marks the communicator failed: reset() will abort it.
  void mark_failed() { failed_ = true; }
  // Aborts at once: cancels in-flight operations and frees the communicator.
  void abort();
  // The asynchronous state: ncclSuccess, ncclInProgress (a call is still
  // being carried out) or an error (the communicator is then marked failed).
  ncclResult_t poll();
  // "" when healthy (or in progress); else NCCL's description of the
  // asynchronous error (and the communicator is marked failed).
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

// All ranks of one communicator made from one thread (one NCCL group of
// ncclCommInitRankConfig calls, waited for).  Its reset finalizes the healthy
// members inside one NCCL group, waits, then destroys them: finalizing them
// one by one, as separate NcclComm destructors would, waits on the others
// forever.
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
  // This process's share of a communicator that spans processes: local rank
  // i joins communicator `id` as rank first_rank + i of num_ranks on
  // devices[i].  Every process calls it with the same id (made by one
  // process, handed to the others by the caller, e.g. over MPI) and its own
  // first_rank; returns once every rank of every process has joined.
  bool init(const std::vector<int>& devices, const ncclUniqueId& id, int num_ranks, int first_rank,
            std::string* error);
  void reset();

  NcclComm& operator[](int rank) { return comms_[static_cast<size_t>(rank)]; }
  int size() const { return static_cast<int>(comms_.size()); }

 private:
  std::vector<NcclComm> comms_;
};

}  // namespace banyan::cuda
