package ebpf

// Option changes how Open sets up the capture.
type Option func(*options)

type options struct {
	ringBytes int
}

// RingSize sets the ring buffer's size in bytes: a power of two and a
// multiple of the page size. The default, 1 MiB, holds 10,922 events (88
// bytes and an 8-byte header each).
// Benchmarks shrink it to make it overflow.
func RingSize(bytes int) Option { return func(o *options) { o.ringBytes = bytes } }
