package sockets

// attribution: Windows reports every socket's owning pid, whoever asks.
func attribution() Attribution { return Full }
