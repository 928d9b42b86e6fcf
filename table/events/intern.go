package events

// procKey is what an event knows of its process, kept once for every row
// that shares it.
type procKey struct {
	name, path, cmdline, username, cgroup string
	uid                                   int64
}

// interner keeps each distinct procKey once, counted by the rows that use
// it, and forgets it when the last such row leaves the store.
type interner struct {
	ids  map[procKey]uint32
	keys []procKey
	refs []uint32
	free []uint32
}

func newInterner() interner { return interner{ids: map[procKey]uint32{}} }

func (in *interner) acquire(k procKey) uint32 {
	if id, ok := in.ids[k]; ok {
		in.refs[id]++
		return id
	}
	var id uint32
	if n := len(in.free); n > 0 {
		id = in.free[n-1]
		in.free = in.free[:n-1]
		in.keys[id], in.refs[id] = k, 1
	} else {
		id = uint32(len(in.keys))
		in.keys = append(in.keys, k)
		in.refs = append(in.refs, 1)
	}
	in.ids[k] = id
	return id
}

func (in *interner) release(id uint32) {
	in.refs[id]--
	if in.refs[id] == 0 {
		delete(in.ids, in.keys[id])
		in.keys[id] = procKey{}
		in.free = append(in.free, id)
	}
}

func (in *interner) get(id uint32) procKey { return in.keys[id] }

// len is the number of distinct keys held.
func (in *interner) len() int { return len(in.ids) }
