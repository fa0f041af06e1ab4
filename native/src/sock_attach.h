// Attaching the socket LB's hooks to a cgroup through pinned bpf_links: a pinned
// link keeps the hook attached while no agent runs, and a new agent replaces
// the link's program in one atomic step instead of detaching.
#pragma once
#include <string>
#include <vector>

struct bpf_object;

namespace kpr {

struct AttachResult {
  std::string prog;
  std::string action;  // "created" or "replaced"
};

std::vector<AttachResult> AttachCgroupPrograms(bpf_object* obj, const std::string& cgroup_path,
                                               const std::string& link_dir);

// The same for one of them, by name: what a repair puts back after its link
// was detached, unpinned or given another program.
AttachResult AttachCgroupProgram(bpf_object* obj, const std::string& name, const std::string& cgroup_path,
                                 const std::string& link_dir);

}  // namespace kpr
