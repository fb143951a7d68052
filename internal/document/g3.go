package document

import (
	"errors"
	"fmt"
)

// This file decodes CCITT Group 3 (ITU-T T.4) fax data as TIFF stores it
// (Compression 3): one-dimensional (MH) or two-dimensional (MR) rows, each
// after an EOL code, with or without fill bits before the EOLs, in either
// bit order. golang.org/x/image/ccitt reads only 1D rows without fill bits,
// but HylaFAX and spandsp (Asterisk's ReceiveFAX) write fill bits and often
// 2D rows, so faxgate decodes Group 3 itself. Group 4 goes to x/image.

// huffCode is one variable-length code of T.4: its bits, most significant
// first, and the value it stands for.
type huffCode struct {
	bits string
	val  int
}

// Values of the two-dimensional mode codes (T.4 table 4).
const (
	modePass = iota
	modeHorizontal
	modeV0
	modeVR1
	modeVR2
	modeVR3
	modeVL1
	modeVL2
	modeVL3
	modeExtension
)

func modeCodes() []huffCode {
	return []huffCode{
		{"0001", modePass}, {"001", modeHorizontal}, {"1", modeV0},
		{"011", modeVR1}, {"000011", modeVR2}, {"0000011", modeVR3},
		{"010", modeVL1}, {"000010", modeVL2}, {"0000010", modeVL3},
		{"0000001", modeExtension},
	}
}

// extendedMakeupCodes are the make-up codes for runs of 1792 to 2560 pixels
// that white and black share (T.4 table 3).
func extendedMakeupCodes() []huffCode {
	return []huffCode{
		{"00000001000", 1792}, {"00000001100", 1856}, {"00000001101", 1920},
		{"000000010010", 1984}, {"000000010011", 2048}, {"000000010100", 2112},
		{"000000010101", 2176}, {"000000010110", 2240}, {"000000010111", 2304},
		{"000000011100", 2368}, {"000000011101", 2432}, {"000000011110", 2496},
		{"000000011111", 2560},
	}
}

// whiteCodes are T.4 tables 2 and 3 for white runs: terminating codes for
// 0 to 63, then make-up codes for multiples of 64.
func whiteCodes() []huffCode {
	term := []string{
		"00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
		"10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
		"101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
		"0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
		"00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111", "00101000",
		"00101001", "00101010", "00101011", "00101100", "00101101", "00000100", "00000101", "00001010",
		"00001011", "01010010", "01010011", "01010100", "01010101", "00100100", "00100101", "01011000",
		"01011001", "01011010", "01011011", "01001010", "01001011", "00110010", "00110011", "00110100",
	}
	makeup := []string{
		"11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
		"01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100", "011010101",
		"011010110", "011010111", "011011000", "011011001", "011011010", "011011011", "010011000", "010011001",
		"010011010", "011000", "010011011",
	}
	return runCodes(term, makeup)
}

// blackCodes are T.4 tables 2 and 3 for black runs.
func blackCodes() []huffCode {
	term := []string{
		"0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
		"000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
		"0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100", "00000110111", "00000101000",
		"00000010111", "00000011000", "000011001010", "000011001011", "000011001100", "000011001101", "000001101000", "000001101001",
		"000001101010", "000001101011", "000011010010", "000011010011", "000011010100", "000011010101", "000011010110", "000011010111",
		"000001101100", "000001101101", "000011011010", "000011011011", "000001010100", "000001010101", "000001010110", "000001010111",
		"000001100100", "000001100101", "000001010010", "000001010011", "000000100100", "000000110111", "000000111000", "000000100111",
		"000000101000", "000001011000", "000001011001", "000000101011", "000000101100", "000001011010", "000001100110", "000001100111",
	}
	makeup := []string{
		"0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100", "000000110101", "0000001101100",
		"0000001101101", "0000001001010", "0000001001011", "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
		"0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011", "0000001010100", "0000001010101", "0000001011010",
		"0000001011011", "0000001100100", "0000001100101",
	}
	return runCodes(term, makeup)
}

func runCodes(term, makeup []string) []huffCode {
	codes := make([]huffCode, 0, len(term)+len(makeup)+13)
	for i, s := range term {
		codes = append(codes, huffCode{s, i})
	}
	for i, s := range makeup {
		codes = append(codes, huffCode{s, 64 * (i + 1)})
	}
	return append(codes, extendedMakeupCodes()...)
}

// huffTree is a binary decoding tree: node i has children [0] and [1]; a
// child 0 is an invalid code, a positive child is another node and a
// negative child -v-1 is a leaf with value v. Node 0 is unused.
type huffTree [][2]int32

func buildHuffTree(codes []huffCode) huffTree {
	t := huffTree{{}, {}}
	for _, c := range codes {
		n := 1
		for i := 0; i < len(c.bits); i++ {
			bit := c.bits[i] - '0'
			if i == len(c.bits)-1 {
				t[n][bit] = int32(-c.val - 1)
				break
			}
			if t[n][bit] <= 0 {
				t = append(t, [2]int32{})
				t[n][bit] = int32(len(t) - 1)
			}
			n = int(t[n][bit])
		}
	}
	return t
}

// g3Tables holds the decoding trees, built once per conversion.
type g3Tables struct {
	mode, white, black huffTree
}

func newG3Tables() *g3Tables {
	return &g3Tables{
		mode:  buildHuffTree(modeCodes()),
		white: buildHuffTree(whiteCodes()),
		black: buildHuffTree(blackCodes()),
	}
}

// bitReader reads bits from b in TIFF FillOrder 1 (most significant bit
// first) or 2 (least significant first).
type bitReader struct {
	b   []byte
	pos int64 // in bits
	lsb bool
}

func (r *bitReader) bitAt(pos int64) (byte, bool) {
	if pos>>3 >= int64(len(r.b)) {
		return 0, false
	}
	c := r.b[pos>>3]
	if r.lsb {
		return c >> (pos & 7) & 1, true
	}
	return c >> (7 - pos&7) & 1, true
}

func (r *bitReader) next() (byte, bool) {
	bit, ok := r.bitAt(r.pos)
	if ok {
		r.pos++
	}
	return bit, ok
}

// skipEOL consumes an EOL code (eleven or more zero bits, the extra ones
// being fill, then a one) if one comes next, and reports whether it did.
func (r *bitReader) skipEOL() bool {
	p, zeros := r.pos, 0
	for {
		bit, ok := r.bitAt(p)
		if !ok {
			return false
		}
		p++
		if bit == 1 {
			break
		}
		zeros++
	}
	if zeros < 11 {
		return false
	}
	r.pos = p
	return true
}

// g3Error is a decoding error; a constant type so that the sentinels below
// need no package variables.
type g3Error string

func (e g3Error) Error() string { return string(e) }

const (
	errG3Code g3Error = "invalid code"
	errG3Run  g3Error = "run past the end of the row"
	// errG3End says the data ran out before a row was complete.
	errG3End g3Error = "end of data"
)

// g3Decoder decodes the strips of one page.
type g3Decoder struct {
	t       *g3Tables
	width   int
	twoD    bool
	r       bitReader
	ref     []int // changing elements of the previous row
	cur     []int // changing elements of the row being decoded
	invert  bool  // PhotometricInterpretation is BlackIsZero
	rowSize int
}

// decodeG3Page decodes a G3 page of p's strips in b into rows of packed
// bits, one for white and zero for black, ready for a 1-bit DeviceGray
// image. Data that ends early leaves the remaining rows white, as a fax
// machine would print a truncated page; an invalid code is an error.
func decodeG3Page(t *g3Tables, b []byte, p tiffPage) ([]byte, error) {
	d := &g3Decoder{
		t:       t,
		width:   int(p.width),
		twoD:    p.t4Options&t4TwoD != 0,
		invert:  p.photometric == photoBlackIsZero,
		rowSize: int((p.width + 7) / 8),
	}
	out := make([]byte, d.rowSize*int(p.height))
	err := eachStrip(b, p, func(s, first, rows int, data []byte) error {
		d.r = bitReader{b: data, lsb: p.fillOrder == 2}
		if err := d.strip(out[first*d.rowSize : (first+rows)*d.rowSize]); err != nil {
			return fmt.Errorf("document: g3 strip %d: %w", s, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// strip decodes one strip into out, which holds its rows.
func (d *g3Decoder) strip(out []byte) error {
	d.ref = d.ref[:0] // each strip starts afresh: its first row is 1D
	rows := len(out) / d.rowSize
	for y := 0; y < rows; y++ {
		row := out[y*d.rowSize : (y+1)*d.rowSize]
		sawEOL := d.r.skipEOL()
		oneD := true
		if d.twoD {
			bit, ok := d.r.next()
			if !ok {
				d.fillWhite(out[y*d.rowSize:])
				return nil
			}
			oneD = bit == 1
		}
		if sawEOL && d.r.skipEOL() {
			// Two EOLs in a row: the return-to-control that ends the page.
			d.fillWhite(out[y*d.rowSize:])
			return nil
		}
		var err error
		if oneD {
			err = d.row1D()
		} else {
			err = d.row2D()
		}
		if errors.Is(err, errG3End) {
			d.fillWhite(out[y*d.rowSize:])
			return nil
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", y, err)
		}
		d.render(row)
		d.ref, d.cur = d.cur, d.ref
	}
	return nil
}

func (d *g3Decoder) fillWhite(rows []byte) {
	v := byte(0xff)
	if d.invert {
		v = 0
	}
	for i := range rows {
		rows[i] = v
	}
}

// code reads one code of tree t.
func (d *g3Decoder) code(t huffTree) (int, error) {
	n := int32(1)
	for {
		bit, ok := d.r.next()
		if !ok {
			return 0, errG3End
		}
		n = t[n][bit]
		switch {
		case n == 0:
			return 0, errG3Code
		case n < 0:
			return int(-n - 1), nil
		}
	}
}

// run reads one run length: make-up codes, then a terminating code.
func (d *g3Decoder) run(black bool) (int, error) {
	t := d.t.white
	if black {
		t = d.t.black
	}
	total := 0
	for {
		v, err := d.code(t)
		if err != nil {
			return 0, err
		}
		total += v
		if total > d.width {
			return 0, errG3Run
		}
		if v < 64 {
			return total, nil
		}
	}
}

// row1D decodes a row of alternating white and black runs into d.cur.
func (d *g3Decoder) row1D() error {
	d.cur = d.cur[:0]
	a0, black := 0, false
	for a0 < d.width {
		n, err := d.run(black)
		if err != nil {
			return err
		}
		a0 += n
		if a0 > d.width {
			return errG3Run
		}
		if a0 < d.width {
			d.cur = append(d.cur, a0)
		}
		black = !black
	}
	return nil
}

// row2D decodes a row coded against the reference row d.ref into d.cur.
// Changing elements alternate: d.ref[0] is where the first black run starts,
// d.ref[1] where it ends, and so on.
func (d *g3Decoder) row2D() error {
	d.cur = d.cur[:0]
	a0, black := -1, false
	i := 0 // first index of d.ref past a0, never moving back since a0 only grows
	for a0 < d.width {
		for i < len(d.ref) && d.ref[i] <= a0 {
			i++
		}
		// b1 is the first change past a0 to the colour opposite a0's: to
		// black (even index) on a white run, to white (odd) on a black one.
		j := i
		if (j%2 == 1) != black {
			j++
		}
		b1, b2 := d.width, d.width
		if j < len(d.ref) {
			b1 = d.ref[j]
		}
		if j+1 < len(d.ref) {
			b2 = d.ref[j+1]
		}
		mode, err := d.code(d.t.mode)
		if err != nil {
			return err
		}
		start := max(a0, 0)
		switch mode {
		case modePass:
			a0 = b2
		case modeHorizontal:
			r1, err := d.run(black)
			if err != nil {
				return err
			}
			r2, err := d.run(!black)
			if err != nil {
				return err
			}
			a1, a2 := start+r1, start+r1+r2
			if a2 > d.width {
				return errG3Run
			}
			d.change(a1)
			d.change(a2)
			a0 = a2
		case modeV0, modeVR1, modeVR2, modeVR3, modeVL1, modeVL2, modeVL3:
			a1 := b1 + vertical(mode)
			if a1 < start || a1 > d.width {
				return errG3Run
			}
			d.change(a1)
			a0 = a1
			black = !black
		default:
			return errG3Code
		}
	}
	return nil
}

func (d *g3Decoder) change(x int) {
	if x < d.width {
		d.cur = append(d.cur, x)
	}
}

func vertical(mode int) int {
	switch mode {
	case modeVR1:
		return 1
	case modeVR2:
		return 2
	case modeVR3:
		return 3
	case modeVL1:
		return -1
	case modeVL2:
		return -2
	case modeVL3:
		return -3
	}
	return 0
}

// render draws the changing elements d.cur into row.
func (d *g3Decoder) render(row []byte) {
	for i := range row {
		row[i] = 0xff
	}
	for k := 0; k < len(d.cur); k += 2 {
		from, to := d.cur[k], d.width
		if k+1 < len(d.cur) {
			to = d.cur[k+1]
		}
		for x := from; x < to; x++ {
			row[x>>3] &^= 0x80 >> (x & 7)
		}
	}
	if d.invert {
		for i := range row {
			row[i] = ^row[i]
		}
	}
}
