// The objects the addon hands to JavaScript, one file of js/ each, in one
// style: a class (Napi::ObjectWrap) whose instances an exported open*()
// function makes, and which close() (or the garbage collector) releases;
// plain functions where nothing stays open. Each file registers its exports;
// addon.cc calls them all.
#pragma once
#include <napi.h>

#include <utility>

namespace kpr::js {

// The classes' constructors, kept per environment (a worker thread has its
// own), which the open*() functions instantiate.
struct Constructors {
  Napi::FunctionReference sock_datapath;
  Napi::FunctionReference edge_datapath;
  Napi::FunctionReference edge_maps;
  Napi::FunctionReference edge_trace;
  Napi::FunctionReference flow_gc;
};
Constructors& ConstructorsOf(Napi::Env env);

// A new instance of class T, made by its constructor ctor, owning core.
template <typename T, typename Core>
Napi::Object Instance(Napi::FunctionReference& ctor, Core core) {
  Napi::Object o = ctor.New({});
  T::Unwrap(o)->Adopt(std::move(core));
  return o;
}

// openSocketDatapath, openPinnedSocketMaps (js/sock_datapath.cc)
void RegisterSockDatapath(Napi::Env env, Napi::Object exports, Constructors& ctors);
// openEdgeDatapath, openPinnedEdgeMaps (js/edge_datapath.cc)
void RegisterEdgeDatapath(Napi::Env env, Napi::Object exports, Constructors& ctors);
// openTrace (js/edge_trace.cc)
void RegisterEdgeTrace(Napi::Env env, Napi::Object exports, Constructors& ctors);
// openFlowGc (js/flow_gc.cc)
void RegisterFlowGc(Napi::Env env, Napi::Object exports, Constructors& ctors);
// computeMaglev, computeMaglevFromPermutations, maglevDigest (js/maglev.cc)
void RegisterMaglev(Napi::Env env, Napi::Object exports);
// handOverEdgeFlows (js/conntrack_handover.cc)
void RegisterConntrackHandover(Napi::Env env, Napi::Object exports);
// kernelStatus, readAttachments, writeAttachRecord (js/status.cc)
void RegisterStatus(Napi::Env env, Napi::Object exports);

}  // namespace kpr::js
