// JavaScript values <-> the native core's records, shared by every object
// the addon hands to JavaScript: argument checks that throw BpfError with
// the field's name, array conversions, and Guard(), which turns the core's
// errors into JavaScript Errors.
#pragma once
#include <napi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "addr_text.h"
#include "bpf_errors.h"
#include "loader.h"
#include "maglev.h"

namespace kpr::js {

// A field's name made a JavaScript string once, for a call that reads the
// field from many objects: a name given as C text is made into a string on
// every read, which was most of what converting a million map entries cost.
struct PropName {
  PropName(Napi::Env env, const char* text) : text(text), js(Napi::String::New(env, text)) {}
  const char* text;
  Napi::String js;
};

// A frontend's fields (addr, port, proto), named once.
struct FrontendNames {
  explicit FrontendNames(Napi::Env env) : addr(env, "addr"), port(env, "port"), proto(env, "proto") {}
  PropName addr, port, proto;
};

// Whether an optional field is given. TypeScript's `key?: T` admits the key
// holding undefined as well as no key at all; both mean absent here.
bool Given(const Napi::Object& o, const char* key);
std::string Str(const Napi::Object& o, const PropName& key);
std::string Str(const Napi::Object& o, const char* key);
std::string OptStr(const Napi::Object& o, const char* key);  // "" when not given
uint32_t U32(const Napi::Object& o, const PropName& key);
uint32_t U32(const Napi::Object& o, const char* key);
uint16_t Port(const Napi::Object& o, const PropName& key);
uint16_t Port(const Napi::Object& o);
Frontend ToFrontend(const Napi::Object& o, const FrontendNames& names);
Frontend ToFrontend(const Napi::Object& o);
Napi::Object ObjectArg(const Napi::Value& v);
// The map directory that open*(mapDir) takes; throws naming the call.
std::string MapDirArg(const Napi::CallbackInfo& info, const char* call);

template <typename T, typename F>
std::vector<T> MapArray(const Napi::Value& v, F convert) {
  if (!v.IsArray()) throw BpfError("expected an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<T> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    out.push_back(convert(e));
  }
  return out;
}

// An array of numbers (ids); what names them in the error.
std::vector<uint32_t> U32Array(const Napi::Value& v, const char* what = "ids");
// An array of strings; what names them in the error.
std::vector<std::string> Strings(const Napi::Value& v, const char* what);

template <typename T, typename F>
Napi::Array ToArray(const Napi::Env& env, const std::vector<T>& items, F toObject) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) out.Set(i, toObject(env, items[i]));
  return out;
}

// Ids and counters alike: a double holds a u64 counter exactly up to 2^53.
template <typename T>
Napi::Array NumberArray(const Napi::Env& env, const std::vector<T>& v) {
  Napi::Array out = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) out.Set(i, static_cast<double>(v[i]));
  return out;
}
Napi::Uint32Array ToUint32Array(const Napi::Env& env, const std::vector<uint32_t>& v);

// What a load migrated: [{ map, fromEntries, toEntries, copied }].
Napi::Array MigrationsArray(const Napi::Env& env, const Migrations& migrations);
// Copies what the old programs wrote since the load; returns the entries copied.
Napi::Value SettleMigrations(const Napi::Env& env, Migrations& migrations);
// {name: id} of programs.
Napi::Object IdsObject(const Napi::Env& env, const std::map<std::string, uint32_t>& ids);

// Runs fn(env) for a call and rethrows a BpfError or MaglevError as a JS
// Error with the same message.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F fn) {
  Napi::Env env = info.Env();
  try {
    return fn(env);
  } catch (const BpfError& e) {
    throw Napi::Error::New(env, e.what());
  } catch (const MaglevError& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace kpr::js
