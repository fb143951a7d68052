package fax

// Details is what a carrier reported about the call that carried a fax,
// when it reported it: the remote machine's station id (the TSID or CSID
// it announced, free text), the calling line id as the carrier gave it
// (From keeps only a usable number; this keeps "anonymous" and non-E.164
// ids too; it is empty when it is just the From number), the transmission time and the negotiated speed. A zero value
// means the carrier did not say.
type Details struct {
	StationID       string
	CallerID        string
	DurationSeconds int
	BitRate         int // bits per second
}
