package document

import (
	"errors"
	"fmt"
)

// scanGIF walks the blocks of the GIF b without decoding any image data and
// returns how many frames it has and how many pixels they declare in all,
// so that an animation's cost is known before the decoder, which keeps
// every frame, is asked for it. It reads each byte at most once.
func scanGIF(b []byte) (frames int, pixels int64, err error) {
	if len(b) < 13 {
		return 0, 0, errors.New("document: gif header truncated")
	}
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (b[10]&7 + 1)
	}
	for {
		if i >= len(b) {
			return 0, 0, errors.New("document: gif ends without a trailer")
		}
		switch b[i] {
		case 0x3b: // trailer
			if frames == 0 {
				return 0, 0, errors.New("document: gif has no frames")
			}
			return frames, pixels, nil
		case 0x21: // extension: label, then sub-blocks
			if i += 2; i > len(b) {
				return 0, 0, errors.New("document: gif extension truncated")
			}
			if i, err = skipSubBlocks(b, i); err != nil {
				return 0, 0, err
			}
		case 0x2c: // image descriptor
			if i+10 > len(b) {
				return 0, 0, errors.New("document: gif image descriptor truncated")
			}
			w := int64(b[i+5]) | int64(b[i+6])<<8
			h := int64(b[i+7]) | int64(b[i+8])<<8
			flags := b[i+9]
			i += 10
			if flags&0x80 != 0 {
				i += 3 << (flags&7 + 1)
			}
			i++ // LZW minimum code size
			if i > len(b) {
				return 0, 0, errors.New("document: gif image truncated")
			}
			if i, err = skipSubBlocks(b, i); err != nil {
				return 0, 0, err
			}
			frames++
			pixels += w * h
		default:
			return 0, 0, fmt.Errorf("document: gif has an unknown block 0x%02x", b[i])
		}
	}
}

// skipSubBlocks returns the offset after the data sub-blocks starting at i.
func skipSubBlocks(b []byte, i int) (int, error) {
	for {
		if i >= len(b) {
			return 0, errors.New("document: gif data truncated")
		}
		n := int(b[i])
		i += 1 + n
		if n == 0 {
			return i, nil
		}
	}
}
