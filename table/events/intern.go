package events

import "hash/maphash"

// procKey is what an event knows of its process, kept once for every row
// that shares it.
type procKey struct {
	name, path, cmdline, username, cgroup string
	uid                                   int64
}

func (k *procKey) size() int {
	return len(k.name) + len(k.path) + len(k.cmdline) + len(k.username) + len(k.cgroup)
}

// interner keeps each distinct procKey once, counted by the rows that use
// it, and forgets it when the last such row leaves the store. Its index maps
// a hash of the key, not the key: 12 bytes an entry instead of 96. A key
// whose hash is taken by another key (a 64-bit collision) simply gets an id
// of its own outside the index.
type interner struct {
	seed  maphash.Seed
	ids   map[uint64]uint32
	keys  []procKey
	refs  []uint32
	free  []uint32
	bytes int // text held, for the command-line budget
}

func newInterner() interner {
	return interner{seed: maphash.MakeSeed(), ids: map[uint64]uint32{}}
}

func (in *interner) acquire(k procKey) uint32 {
	h := maphash.Comparable(in.seed, k)
	id, indexed := in.ids[h]
	if indexed && in.keys[id] == k {
		in.refs[id]++
		return id
	}
	if n := len(in.free); n > 0 {
		id = in.free[n-1]
		in.free = in.free[:n-1]
		in.keys[id], in.refs[id] = k, 1
	} else {
		id = uint32(len(in.keys))
		in.keys = append(in.keys, k)
		in.refs = append(in.refs, 1)
	}
	if !indexed {
		in.ids[h] = id
	}
	in.bytes += k.size()
	return id
}

func (in *interner) release(id uint32) {
	in.refs[id]--
	if in.refs[id] > 0 {
		return
	}
	k := &in.keys[id]
	if h := maphash.Comparable(in.seed, *k); in.ids[h] == id {
		delete(in.ids, h)
	}
	in.bytes -= k.size()
	*k = procKey{}
	in.free = append(in.free, id)
}

func (in *interner) get(id uint32) procKey { return in.keys[id] }

// len is the number of distinct keys held.
func (in *interner) len() int { return len(in.keys) - len(in.free) }
