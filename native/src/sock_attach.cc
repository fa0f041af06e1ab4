#include "sock_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf_errors.h"
#include "loader.h"
#include "owned_fd.h"

namespace kpr {

namespace {

// A cgroup's id is the inode number of its directory in cgroupfs.
uint64_t CgroupId(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) ThrowErrno("stat " + path, errno);
  return st.st_ino;
}

uint64_t LinkCgroupId(bpf_link* link) {
  bpf_link_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) != 0) return 0;
  return info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : 0;
}

// Re-uses the link pinned at pin when it is attached to this cgroup; a link
// left on another cgroup (the agent was moved) or detached from its cgroup
// (cgroup id 0) is unpinned and replaced.
bool ReplacePinned(bpf_program* prog, const std::string& pin, uint64_t cgroup_id) {
  if (access(pin.c_str(), F_OK) != 0) return false;
  bpf_link* link = bpf_link__open(pin.c_str());
  if (!link) return false;
  if (LinkCgroupId(link) != cgroup_id) {
    bpf_link__unpin(link);
    bpf_link__destroy(link);
    return false;
  }
  int err = bpf_link__update_program(link, prog);
  bpf_link__destroy(link);  // closes our fd only: the pin keeps it attached
  if (err) ThrowErrno("replacing program of link " + pin, err);
  return true;
}

// Attaches prog to the cgroup open at cg through the link pinned at pin.
std::string AttachThroughPin(bpf_program* prog, int cg, uint64_t cgroup_id, const std::string& pin,
                             const std::string& cgroup_path) {
  if (ReplacePinned(prog, pin, cgroup_id)) return "replaced";
  const std::string name = bpf_program__name(prog);
  bpf_link* link = bpf_program__attach_cgroup(prog, cg);
  if (!link) ThrowErrno("attaching " + name + " to " + cgroup_path, errno);
  int err = bpf_link__pin(link, pin.c_str());
  if (err) {
    bpf_link__destroy(link);
    ThrowErrno("pinning link " + pin, err);
  }
  // Closes our fd (libbpf's "detach" of an fd-based link) and no more: the
  // pin keeps the link attached. An fd kept open would keep it attached
  // after its pin is removed, and a repair would then attach it twice.
  bpf_link__destroy(link);
  return "created";
}

// A cgroup directory open for attaching, and its id.
struct Cgroup {
  OwnedFd fd;
  uint64_t id = 0;
  explicit Cgroup(const std::string& path) : fd(open(path.c_str(), O_RDONLY | O_DIRECTORY)) {
    if (fd.fd < 0) ThrowErrno("opening cgroup " + path, errno);
    id = CgroupId(path);
  }
};

bool IsCgroupProgram(bpf_program* prog) { return bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SOCK_ADDR; }

}  // namespace

std::vector<AttachResult> AttachCgroupPrograms(bpf_object* obj, const std::string& cgroup_path,
                                               const std::string& link_dir) {
  MakeDirs(link_dir);
  Cgroup cg(cgroup_path);
  std::vector<AttachResult> results;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!IsCgroupProgram(prog)) continue;
    std::string name = bpf_program__name(prog);
    results.push_back({name, AttachThroughPin(prog, cg.fd.fd, cg.id, link_dir + "/" + name, cgroup_path)});
  }
  return results;
}

AttachResult AttachCgroupProgram(bpf_object* obj, const std::string& name, const std::string& cgroup_path,
                                 const std::string& link_dir) {
  bpf_program* prog = bpf_object__find_program_by_name(obj, name.c_str());
  if (!prog || !IsCgroupProgram(prog)) throw BpfError("the socket LB has no cgroup program " + name);
  MakeDirs(link_dir);
  Cgroup cg(cgroup_path);
  return {name, AttachThroughPin(prog, cg.fd.fd, cg.id, link_dir + "/" + name, cgroup_path)};
}

}  // namespace kpr
