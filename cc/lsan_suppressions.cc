// LeakSanitizer suppressions for the ASan build (--config=asan), linked into every C++ program and
// test of cc/ only under that config. Each entry names a prebuilt library we cannot fix.
//
// Caveat: LSan matches a suppression against every frame of the allocating stack, so a network
// leaked by our own code (allocated inside Lite on our behalf) is suppressed too. That class of
// leak is what //cc:load_free_test catches (resident memory over 200 load/free cycles).
extern "C" const char* __lsan_default_suppressions() {
  return
      // MegEngine keeps process-lifetime singletons it never frees: the comp node registry, the
      // CPU worker threads' queues, per-thread allocator pools, the fast-run persistent cache.
      "leak:libmegengine_shared.so\n"
      // Lite's global state (its global config, the loader registry, decryption/parser tables).
      "leak:liblite_shared_whl.so\n";
}
