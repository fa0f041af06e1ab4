// Older layouts of our maps' entries, and how an entry of one becomes an
// entry of the current layout. A pinned map of a layout listed here is
// migrated entry by entry (map_migration.h); any other layout is refused.
#pragma once
#include <cstdint>
#include <string>

namespace kpr {

struct LayoutMigration {
  const char* map;
  // The older layout, as the pinned map's definition gives it; map_type 0:
  // the type this build declares.
  uint32_t key_size;
  uint32_t value_size;
  uint32_t map_type;
  // What the older layout was, for the log.
  const char* what;
  // Fills new_key and new_value (zeroed, of this build's sizes) from an older entry.
  void (*convert)(const uint8_t* key, const uint8_t* value, uint8_t* new_key, uint8_t* new_value);
};

// The migration of map's entries from the given older layout, or nullptr.
// wanted_type: the map's type in this build.
const LayoutMigration* FindLayoutMigration(const std::string& map, uint32_t map_type, uint32_t key_size, uint32_t value_size,
                                           uint32_t wanted_type);

}  // namespace kpr
