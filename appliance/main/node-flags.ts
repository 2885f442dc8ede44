// The V8 settings `junction serve` runs with (systemd unit, router image,
// lab and benchmarks). A commit of a big rule base allocates hundreds of MB
// of short-lived objects; with V8's default 16 MB semi-space the young
// generation is scavenged so often that garbage collection was the largest
// single cost of a one-rule commit at 100k rules. 64 MB took 15-20 % off
// that commit (measured in-process); the space grows to it only when used.
export const SERVE_NODE_FLAGS = ['--max-semi-space-size=64'];
