// jemalloc's options, read from this symbol when the program starts (see
// jemalloc(3), "malloc_conf"). Linked only with jemalloc (STSCTL_JEMALLOC).
// Huge pages for the heap: loading 100,000 domains otherwise spends most of
// its time in page faults. Two arenas: stsctl runs at most a few threads.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:always,narenas:2";
}
