// Pinned maps whose capacity changed (--bpf-lb-map-max and friends), or
// whose entries have an older layout that map_layouts.h knows, are
// migrated, not flushed. Before the load the old pin is moved aside, so the
// load creates the map anew in its place; after the load every entry is
// copied across (converted, for an older layout); once the new programs are
// attached, entries the old programs wrote meanwhile are copied too
// (settle), and the old map goes with its last user. Other flags, another
// type or an unknown layout is refused, unless map_layouts.h knows that
// older layout: no entry could be carried over faithfully.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "map_layouts.h"

struct bpf_object;

namespace kpr {

struct MapMigration {
  std::string name;
  uint32_t from_entries;
  uint32_t to_entries;
  // Entries carried over (non-zero ones, for arrays).
  uint64_t copied;
  // The older layout converted, when there was one.
  std::string from_layout;
};

class MapMigrations {
 public:
  // After the object is opened and sized, before it is loaded. A pin left
  // aside by an agent that stopped mid-migration is the real map: it is put
  // back first, and migrated again.
  MapMigrations(bpf_object* obj, const std::string& map_dir);
  // Until Finish succeeds, the old pins are put back (a failed load).
  ~MapMigrations();
  MapMigrations(const MapMigrations&) = delete;
  MapMigrations& operator=(const MapMigrations&) = delete;

  // After a successful load: copies every entry into the new maps.
  void Finish();
  const std::vector<MapMigration>& Migrated() const { return migrated_; }
  // After the new programs are attached: copies what the old programs added
  // since Finish, then lets the old maps go. Returns how many; later calls do nothing.
  uint64_t Settle();

 private:
  struct Pending {
    std::string name, pin, aside;
    int old_fd;
    uint32_t from_entries, to_entries;
    const LayoutMigration* layout;  // nullptr: the same layout
  };
  // Puts the old pins back unless Finish succeeded; closes the old maps.
  void Release();

  bpf_object* obj_;
  std::vector<Pending> pending_;
  std::vector<MapMigration> migrated_;
  bool finished_ = false;
};

}  // namespace kpr
