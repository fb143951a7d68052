package fax

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a send request.
const (
	// MaxHeaderText is how many characters the header line may carry: what
	// carriers print across the top of each page.
	MaxHeaderText = 50
	// MaxIdempotencyKey is the longest Idempotency-Key kept.
	MaxIdempotencyKey = 255
)

// SendRequest is a client's request to send one fax, as the API decoded it:
// Validate checks it, Hash identifies it for idempotency, and NewOutbound
// builds the fax once the document is stored.
type SendRequest struct {
	// To and From are E.164 numbers once Validate has returned nil; From
	// may be empty.
	To, From    string
	CallbackURL string
	// Provider is the carrier to send through; the caller fills in the
	// default before Hash.
	Provider       string
	HeaderText     string
	IdempotencyKey string
	// Cover is the cover page asked for; none when !Cover.Set().
	Cover Cover
	// MaxAttempts is max_attempts, 0 when the request did not say; the
	// caller fills in the default after Hash.
	MaxAttempts int
}

// Validate checks the numbers, the header text and the cover fields, and
// normalises the numbers and the cover in place. Its messages name the API's fields.
func (r *SendRequest) Validate() error {
	to, err := ParseNumber(r.To)
	if err != nil {
		return Errorf(ECodeInvalid, "to: %s", ErrorMessage(err))
	}
	var from Number
	if r.From != "" {
		if from, err = ParseNumber(r.From); err != nil {
			return Errorf(ECodeInvalid, "from: %s", ErrorMessage(err))
		}
	}
	if n := utf8.RuneCountInString(r.HeaderText); n > MaxHeaderText || !utf8.ValidString(r.HeaderText) {
		return Errorf(ECodeInvalid, "header_text: at most %d characters of text, got %d", MaxHeaderText, n)
	}
	if err := r.Cover.Validate(); err != nil {
		return err
	}
	if r.MaxAttempts < 0 || r.MaxAttempts > MaxAttemptsLimit {
		return Errorf(ECodeInvalid, "max_attempts: want a whole number from 1 to %d, got %d", MaxAttemptsLimit, r.MaxAttempts)
	}
	r.To, r.From = string(to), string(from)
	return nil
}

// ValidateIdempotencyKey checks the Idempotency-Key. It is separate from
// Validate because the API checks it only once the document is in, and its
// answers keep that order.
func (r *SendRequest) ValidateIdempotencyKey() error {
	if len(r.IdempotencyKey) > MaxIdempotencyKey {
		return Errorf(ECodeInvalid, "Idempotency-Key is longer than %d characters", MaxIdempotencyKey)
	}
	return nil
}

// Hash identifies what a validated request asks for, its files as uploaded
// included (not as converted: a conversion may stamp the time into the PDF),
// so that a repeat under the same Idempotency-Key can be told from a
// different request reusing the key. Each part is length-prefixed so that no
// two requests share a hash by shifting text between fields.
func (r *SendRequest) Hash(files [][]byte) string {
	h := sha256.New()
	for _, v := range append([]string{r.To, r.From, r.CallbackURL, r.Provider, r.HeaderText, filesDigest(files)}, r.Cover.hashParts()...) {
		h.Write([]byte(strconv.Itoa(len(v)) + ":" + v))
	}
	// Only when given, so that a request without it hashes as before.
	if r.MaxAttempts != 0 {
		h.Write([]byte("max_attempts:" + strconv.Itoa(r.MaxAttempts)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// filesDigest is one file's SHA-256 (so that a one-file send hashes as it
// always has), or the SHA-256 of every file's in order.
func filesDigest(files [][]byte) string {
	if len(files) == 1 {
		sum := sha256.Sum256(files[0])
		return hex.EncodeToString(sum[:])
	}
	h := sha256.New()
	for _, f := range files {
		sum := sha256.Sum256(f)
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// OutboundDocumentKey is where an outbound fax's document is stored: by
// day, so that a directory never grows without bound.
func OutboundDocumentKey(id, mime string, now time.Time) string {
	ext := ".pdf"
	if mime == "image/tiff" {
		ext = ".tif"
	}
	return "outbound/" + now.Format("2006/01/02") + "/" + id + ext
}

// StoredDocument is a document put in the blob store for a fax.
type StoredDocument struct {
	Key, MIME string
	Size      int64
	SHA256    string
	Pages     int
}

// NewOutbound builds the fax a validated request asks for, with its id, its
// stored document and the API key that owns it ("" for an admin key). Its
// callback token is fresh, so a carrier's callback for it can be told from
// a forged one.
func NewOutbound(id string, r *SendRequest, doc StoredDocument, ownerKeyID string) *Fax {
	return &Fax{
		ID: id, To: r.To, From: r.From, Provider: r.Provider, Pages: doc.Pages,
		CallbackURL: r.CallbackURL, HeaderText: r.HeaderText, MaxAttempts: r.MaxAttempts,
		DocumentKey: doc.Key, DocumentType: doc.MIME, DocumentSize: doc.Size, DocumentSHA256: doc.SHA256,
		OwnerKeyID: ownerKeyID, IdempotencyKey: r.IdempotencyKey, CallbackToken: hex.EncodeToString(RandomToken(24)),
	}
}

// HashBatch identifies a send to several numbers as Hash identifies a send
// to one: the numbers in order, marked as a batch so that a batch of one
// never shares a hash with a single send of the same number.
func (r *SendRequest) HashBatch(to []string, files [][]byte) string {
	c := *r
	c.To = "batch:" + strings.Join(to, ",")
	return c.Hash(files)
}

// ParseRecipients checks the numbers of a send to several recipients and
// returns them as E.164, in the order given. The whole list is refused when
// one number is invalid (its position named, counting from 0), repeats an
// earlier one (sending the same fax twice to a number is never what a list
// means), or when there are more than max.
func ParseRecipients(to []string, max int) ([]string, error) {
	if len(to) == 0 {
		return nil, Errorf(ECodeInvalid, "to: give at least one number")
	}
	if len(to) > max {
		return nil, Errorf(ECodeInvalid, "to: at most %d numbers in one send, got %d", max, len(to))
	}
	out := make([]string, 0, len(to))
	seen := make(map[Number]int, len(to))
	for i, s := range to {
		n, err := ParseNumber(s)
		if err != nil {
			return nil, Errorf(ECodeInvalid, "to[%d]: %s", i, ErrorMessage(err))
		}
		if j, dup := seen[n]; dup {
			return nil, Errorf(ECodeInvalid, "to[%d] repeats to[%d]; give each number once", i, j)
		}
		seen[n] = i
		out = append(out, string(n))
	}
	return out, nil
}
