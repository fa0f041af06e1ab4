#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "bpf_errors.h"

namespace kpr {

namespace {

constexpr size_t kLogTailLines = 40;

// Returns the fd of an inner map template made for a map-of-maps, or -1.
// libbpf 1.1 cannot resize its own template (bpf_map__set_max_entries on
// bpf_map__inner_map crashes: the template has no object), so an `inner`
// capacity replaces it with a map of the same shape and the wanted size.
int SetCapacity(bpf_object* obj, const MapCapacity& cap) {
  bpf_map* map = bpf_object__find_map_by_name(obj, cap.name);
  if (!map) throw BpfError(std::string("object has no map ") + cap.name);
  if (!cap.inner) {
    int err = bpf_map__set_max_entries(map, cap.entries);
    if (err) ThrowErrno(std::string("sizing map ") + cap.name, err);
    return -1;
  }
  bpf_map* tmpl = bpf_map__inner_map(map);
  if (!tmpl) throw BpfError(std::string("map ") + cap.name + " has no inner map");
  int fd = bpf_map_create(bpf_map__type(tmpl), nullptr, bpf_map__key_size(tmpl), bpf_map__value_size(tmpl),
                          cap.entries, nullptr);
  if (fd < 0) ThrowErrno(std::string("creating the inner map of ") + cap.name, errno);
  int err = bpf_map__set_inner_map_fd(map, fd);
  if (err) {
    close(fd);
    ThrowErrno(std::string("sizing the inner map of ") + cap.name, err);
  }
  return fd;
}

}  // namespace

void MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) ThrowErrno("creating " + part, errno);
  }
}

int MapFd(bpf_object* obj, const char* name) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  if (!map) throw BpfError(std::string("object has no map ") + name);
  return bpf_map__fd(map);
}

bpf_object* OpenAndLoad(const std::string& object_path, const std::string& map_dir,
                        const std::vector<MapCapacity>& capacities, Migrations& migrations) {
  MakeDirs(map_dir);
  LibbpfLogCapture log;
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = map_dir.c_str());
  bpf_object* obj = bpf_object__open_file(object_path.c_str(), &open_opts);
  if (!obj) ThrowErrno("opening BPF object " + object_path, errno);
  // Inner map templates only matter while the outer maps are created.
  struct Templates {
    std::vector<int> fds;
    ~Templates() {
      for (int fd : fds) close(fd);
    }
  } templates;
  try {
    for (const auto& cap : capacities) {
      int fd = SetCapacity(obj, cap);
      if (fd >= 0) templates.fds.push_back(fd);
    }
    auto migration = std::make_shared<MapMigrations>(obj, map_dir);
    int err = bpf_object__load(obj);
    if (err) {
      int e = err < 0 ? -err : err;
      std::string tail = log.Tail(kLogTailLines);
      std::string hint = tail.find("reuse") != std::string::npos
                             ? "a map pinned under " + map_dir + " has another size or layout\n"
                             : "";
      throw BpfError("loading BPF object " + object_path + ": " + strerror(e) + " (errno " +
                     std::to_string(e) + ")\n" + hint + tail);
    }
    migration->Finish();
    migrations.push_back(migration);
    return obj;
  } catch (...) {
    bpf_object__close(obj);
    throw;
  }
}

namespace {

// What the kernel says of each program of a loaded object, by program name.
std::map<std::string, bpf_prog_info> ProgramInfo(bpf_object* obj) {
  std::map<std::string, bpf_prog_info> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0)
      ThrowErrno(std::string("reading the kernel's info of program ") + bpf_program__name(prog), errno);
    out[bpf_program__name(prog)] = info;
  }
  return out;
}

}  // namespace

std::map<std::string, uint32_t> ProgramIds(bpf_object* obj) {
  std::map<std::string, uint32_t> ids;
  for (const auto& [name, info] : ProgramInfo(obj)) ids[name] = info.id;
  return ids;
}

std::map<std::string, uint32_t> VerifiedInsns(bpf_object* obj) {
  std::map<std::string, uint32_t> counts;
  for (const auto& [name, info] : ProgramInfo(obj)) counts[name] = info.verified_insns;
  return counts;
}

int OpenPinnedMap(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno("opening pinned map " + path, errno);
  return fd;
}

int OpenPinnedMapIfAny(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0 && errno != ENOENT) ThrowErrno("opening " + path, errno);
  return fd;
}

}  // namespace kpr
