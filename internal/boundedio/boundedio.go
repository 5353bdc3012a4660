// Package boundedio reads files and streams with an upper bound on their
// size, so that an input chosen by someone else (a device attribute, an
// evidence file, a response body) cannot make a reader allocate without
// limit.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned, or wrapped, when an input holds more than the
// bound.
var ErrTooLarge = errors.New("larger than the bound")

// ReadAll reads r to its end, at most max bytes; a longer input is
// [ErrTooLarge] (read errors are returned as they come).
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// ReadFile reads the file at path, at most max bytes. Open and read errors
// are returned as they come; a larger file is an error "<path>: larger than
// <max> bytes" wrapping [ErrTooLarge].
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := ReadAll(f, max)
	if errors.Is(err, ErrTooLarge) {
		return nil, &tooLargeError{name: path, max: max}
	}
	return b, err
}

type tooLargeError struct {
	name string
	max  int64
}

func (e *tooLargeError) Error() string { return fmt.Sprintf("%s: larger than %d bytes", e.name, e.max) }
func (e *tooLargeError) Unwrap() error { return ErrTooLarge }
