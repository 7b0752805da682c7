package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/mitogen-go/mitogend/proto"
)

// socksRequest reads one SOCKS CONNECT request from rw (answering a SOCKS5 greeting on the
// way) and returns the destination and the function that answers it: "" for success, or the
// reason the connection failed. It reads no further than the request, so data a client sends
// early is left for the relay.
func socksRequest(rw io.ReadWriter) (proto.DialRequest, func(failure string) error, error) {
	var ver [1]byte
	if _, err := io.ReadFull(rw, ver[:]); err != nil {
		return proto.DialRequest{}, nil, err
	}
	switch ver[0] {
	case socks4Version:
		return socks4Request(rw)
	case socks5Version:
		return socks5Request(rw)
	}
	return proto.DialRequest{}, nil, fmt.Errorf("client: SOCKS version %d", ver[0])
}

func socks4Request(rw io.ReadWriter) (proto.DialRequest, func(string) error, error) {
	var h [7]byte // command, port, IPv4 address
	if _, err := io.ReadFull(rw, h[:]); err != nil {
		return proto.DialRequest{}, nil, err
	}
	if _, err := readCString(rw); err != nil { // user id, ignored as ssh does
		return proto.DialRequest{}, nil, err
	}
	req := proto.DialRequest{Port: int(binary.BigEndian.Uint16(h[1:3])), Host: net.IP(h[3:7]).String()}
	if h[3] == 0 && h[4] == 0 && h[5] == 0 && h[6] != 0 { // SOCKS4a: the host name follows
		name, err := readCString(rw)
		if err != nil {
			return proto.DialRequest{}, nil, err
		}
		req.Host = name
	}
	reply := func(failure string) error {
		r := []byte{0, 90, 0, 0, 0, 0, 0, 0}
		if failure != "" {
			r[1] = 91
		}
		_, err := rw.Write(r)
		return err
	}
	if h[0] != socksConnect {
		reply("command not supported")
		return proto.DialRequest{}, nil, fmt.Errorf("client: SOCKS4 command %d", h[0])
	}
	return req, reply, nil
}

func readCString(r io.Reader) (string, error) {
	var b []byte
	var c [1]byte
	for len(b) < 256 {
		if _, err := io.ReadFull(r, c[:]); err != nil {
			return "", err
		}
		if c[0] == 0 {
			return string(b), nil
		}
		b = append(b, c[0])
	}
	return "", errors.New("client: SOCKS4 string too long")
}

func socks5Request(rw io.ReadWriter) (proto.DialRequest, func(string) error, error) {
	var n [1]byte
	if _, err := io.ReadFull(rw, n[:]); err != nil {
		return proto.DialRequest{}, nil, err
	}
	methods := make([]byte, n[0])
	if _, err := io.ReadFull(rw, methods); err != nil {
		return proto.DialRequest{}, nil, err
	}
	if !slices.Contains(methods, socks5NoAuth) {
		rw.Write([]byte{socks5Version, socks5NoMethods})
		return proto.DialRequest{}, nil, errors.New("client: SOCKS5 client offers no usable method")
	}
	if _, err := rw.Write([]byte{socks5Version, socks5NoAuth}); err != nil {
		return proto.DialRequest{}, nil, err
	}
	var h [4]byte // version, command, reserved, address type
	if _, err := io.ReadFull(rw, h[:]); err != nil {
		return proto.DialRequest{}, nil, err
	}
	reply := func(failure string) error {
		_, err := rw.Write([]byte{socks5Version, socks5Code(failure), 0, 1, 0, 0, 0, 0, 0, 0})
		return err
	}
	host, err := socks5Addr(rw, h[3])
	if err != nil {
		return proto.DialRequest{}, nil, err
	}
	var port [2]byte
	if _, err := io.ReadFull(rw, port[:]); err != nil {
		return proto.DialRequest{}, nil, err
	}
	if h[0] != socks5Version || h[1] != socksConnect {
		rw.Write([]byte{socks5Version, 7, 0, 1, 0, 0, 0, 0, 0, 0}) // command not supported
		return proto.DialRequest{}, nil, fmt.Errorf("client: SOCKS5 command %d", h[1])
	}
	return proto.DialRequest{Host: host, Port: int(binary.BigEndian.Uint16(port[:]))}, reply, nil
}

func socks5Addr(r io.Reader, atyp byte) (string, error) {
	var b []byte
	switch atyp {
	case 1:
		b = make([]byte, 4)
	case 4:
		b = make([]byte, 16)
	case 3:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return "", err
		}
		name := make([]byte, n[0])
		_, err := io.ReadFull(r, name)
		return string(name), err
	default:
		return "", fmt.Errorf("client: SOCKS5 address type %d", atyp)
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return net.IP(b).String(), nil
}

// socks5Code maps a failure reason (as ssh words it) to a SOCKS5 reply code.
func socks5Code(failure string) byte {
	switch {
	case failure == "":
		return 0
	case strings.Contains(failure, "Connection refused"):
		return 5
	case strings.Contains(failure, "Network is unreachable"):
		return 3
	case strings.Contains(failure, "No route to host"), strings.Contains(failure, "Name or service not known"):
		return 4
	case strings.Contains(failure, "timed out"):
		return 6
	}
	return 1
}
