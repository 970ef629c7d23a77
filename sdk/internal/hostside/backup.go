package hostside

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"

	backupv1 "github.com/dpc-go/dpc/proto/dpc/backup/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

func infoFromProto(o *backupv1.ObjectInfo) sdk.ObjectInfo {
	return sdk.ObjectInfo{Key: o.GetKey(), Size: int64(o.GetSize()), SHA256: o.GetSha256(), Modified: time.UnixMilli(o.GetModifiedUnixMs())}
}

type backupClient struct {
	remotePlugin
	c backupv1.BackupClient
}

// newBackupClient binds a dispensed Backup client to its base.
func newBackupClient(base *Base, raw any) sdk.Backup {
	return &backupClient{remotePlugin: remotePlugin{base: base}, c: raw.(backupv1.BackupClient)}
}

func (b *backupClient) Put(ctx context.Context, req sdk.PutRequest) (sdk.PutResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := b.c.Put(ctx)
	if err != nil {
		return sdk.PutResult{}, wire.FromStatus(err)
	}
	if err := stream.Send(&backupv1.PutRequest{Part: &backupv1.PutRequest_Header{Header: &backupv1.PutHeader{Key: req.Key}}}); err != nil {
		return sdk.PutResult{}, b.sendError(stream, err)
	}
	buf := make([]byte, wire.FrameSize)
	for {
		n, rerr := req.Body.Read(buf)
		if n > 0 {
			if err := stream.Send(&backupv1.PutRequest{Part: &backupv1.PutRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return sdk.PutResult{}, b.sendError(stream, err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			// Cancelling the stream aborts the Put: nothing is stored.
			return sdk.PutResult{}, fmt.Errorf("reading the object to store: %w", rerr)
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return sdk.PutResult{}, wire.FromStatus(err)
	}
	return sdk.PutResult{Object: infoFromProto(res.GetObject())}, nil
}

// sendError finds the real reason a Send failed: the server's status.
func (b *backupClient) sendError(stream grpc.ClientStreamingClient[backupv1.PutRequest, backupv1.PutResponse], err error) error {
	if errors.Is(err, io.EOF) {
		_, err = stream.CloseAndRecv()
	}
	return wire.FromStatus(err)
}

func (b *backupClient) Get(ctx context.Context, req sdk.GetRequest) (sdk.GetResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := b.c.Get(ctx, &backupv1.GetRequest{Key: req.Key})
	if err != nil {
		cancel()
		return sdk.GetResult{}, wire.FromStatus(err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return sdk.GetResult{}, wire.FromStatus(err)
	}
	if first.GetInfo() == nil {
		cancel()
		return sdk.GetResult{}, fmt.Errorf("%w: Get stream did not start with object info", sdk.ErrInvalidArgument)
	}
	return sdk.GetResult{Object: infoFromProto(first.GetInfo()), Body: &getReader{stream: stream, cancel: cancel}}, nil
}

type getReader struct {
	stream  grpc.ServerStreamingClient[backupv1.GetResponse]
	cancel  context.CancelFunc
	pending []byte
	err     error
}

func (g *getReader) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		m, err := g.stream.Recv()
		if err != nil {
			g.err = err
			if !errors.Is(err, io.EOF) {
				g.err = wire.FromStatus(err)
			}
			continue
		}
		g.pending = m.GetChunk()
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

func (g *getReader) Close() error {
	g.cancel()
	return nil
}

func (b *backupClient) Stat(ctx context.Context, req sdk.StatRequest) (sdk.StatResult, error) {
	r, err := b.c.Stat(ctx, &backupv1.StatRequest{Key: req.Key})
	if err != nil {
		return sdk.StatResult{}, wire.FromStatus(err)
	}
	return sdk.StatResult{Object: infoFromProto(r.GetObject())}, nil
}

func (b *backupClient) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResult, error) {
	r, err := b.c.List(ctx, &backupv1.ListRequest{Prefix: req.Prefix, PageToken: req.PageToken, PageSize: uint32(req.PageSize)})
	if err != nil {
		return sdk.ListResult{}, wire.FromStatus(err)
	}
	out := sdk.ListResult{NextPageToken: r.GetNextPageToken()}
	for _, o := range r.GetObjects() {
		out.Objects = append(out.Objects, infoFromProto(o))
	}
	return out, nil
}

func (b *backupClient) Delete(ctx context.Context, req sdk.DeleteRequest) error {
	_, err := b.c.Delete(ctx, &backupv1.DeleteRequest{Key: req.Key})
	return wire.FromStatus(err)
}
