package sdk

import (
	"context"
	"errors"
	"io"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
)

// hubPlugin serves and dispenses the Hub service.
type hubPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Hub
}

// GRPCServer registers the Hub service (plugin side).
func (p *hubPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	hubv1.RegisterHubServer(s, &hubServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Hub client; bind it with newHubClient.
func (p *hubPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return hubv1.NewHubClient(c), nil
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func peerToProto(p PeerRecord) *hubv1.PeerRecord {
	return &hubv1.PeerRecord{NodeId: p.NodeID, Online: p.Online, Uris: p.URIs, ProfileJson: p.ProfileJSON,
		LastSeenUnixMs: unixMs(p.LastSeen), CertificatePem: p.CertificatePEM}
}

func peerFromProto(p *hubv1.PeerRecord) PeerRecord {
	return PeerRecord{NodeID: p.GetNodeId(), Online: p.GetOnline(), URIs: p.GetUris(), ProfileJSON: p.GetProfileJson(),
		LastSeen: fromUnixMs(p.GetLastSeenUnixMs()), CertificatePEM: p.GetCertificatePem()}
}

type hubServer struct {
	hubv1.UnimplementedHubServer
	impl Hub
}

func (s *hubServer) Login(ctx context.Context, _ *hubv1.LoginRequest) (*hubv1.LoginResponse, error) {
	r, err := s.impl.Login(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.LoginResponse{NodeId: r.NodeID, ExpiresUnixMs: unixMs(r.Expires)}, nil
}

func (s *hubServer) Logout(ctx context.Context, _ *hubv1.LogoutRequest) (*hubv1.LogoutResponse, error) {
	return &hubv1.LogoutResponse{}, toStatus(s.impl.Logout(ctx))
}

func (s *hubServer) PublishPresence(ctx context.Context, req *hubv1.PublishPresenceRequest) (*hubv1.PublishPresenceResponse, error) {
	err := s.impl.PublishPresence(ctx, Presence{Status: req.GetStatus(), URIs: req.GetUris(), ProfileJSON: req.GetProfileJson()})
	return &hubv1.PublishPresenceResponse{}, toStatus(err)
}

func (s *hubServer) LookupPeer(ctx context.Context, req *hubv1.LookupPeerRequest) (*hubv1.LookupPeerResponse, error) {
	p, err := s.impl.LookupPeer(ctx, req.GetNodeId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.LookupPeerResponse{Peer: peerToProto(p)}, nil
}

func (s *hubServer) SearchPeers(ctx context.Context, req *hubv1.SearchPeersRequest) (*hubv1.SearchPeersResponse, error) {
	peers, err := s.impl.SearchPeers(ctx, req.GetQuery(), int(req.GetLimit()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &hubv1.SearchPeersResponse{}
	for _, p := range peers {
		out.Peers = append(out.Peers, peerToProto(p))
	}
	return out, nil
}

func (s *hubServer) SendSignal(ctx context.Context, req *hubv1.SendSignalRequest) (*hubv1.SendSignalResponse, error) {
	err := s.impl.SendSignal(ctx, OutgoingSignal{TargetNodeID: req.GetTargetNodeId(), Type: req.GetType(), Payload: req.GetPayload()})
	return &hubv1.SendSignalResponse{}, toStatus(err)
}

func (s *hubServer) Signals(_ *hubv1.SignalsRequest, stream grpc.ServerStreamingServer[hubv1.IncomingSignal]) error {
	err := s.impl.Signals(stream.Context(), func(in IncomingSignal) error {
		return stream.Send(&hubv1.IncomingSignal{SenderNodeId: in.SenderNodeID, Type: in.Type, Payload: in.Payload})
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return toStatus(err)
}

func (s *hubServer) GetIceServers(ctx context.Context, _ *hubv1.GetIceServersRequest) (*hubv1.GetIceServersResponse, error) {
	servers, err := s.impl.IceServers(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &hubv1.GetIceServersResponse{}
	for _, is := range servers {
		out.Servers = append(out.Servers, &hubv1.IceServer{Urls: is.URLs, Username: is.Username,
			Credential: is.Credential, ExpiresUnixMs: unixMs(is.Expires)})
	}
	return out, nil
}

func (s *hubServer) MailboxPut(ctx context.Context, req *hubv1.MailboxPutRequest) (*hubv1.MailboxPutResponse, error) {
	id, err := s.impl.MailboxPut(ctx, MailboxPut{RecipientNodeID: req.GetRecipientNodeId(), Envelope: req.GetEnvelope(),
		TTL: time.Duration(req.GetTtlSeconds()) * time.Second})
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.MailboxPutResponse{EnvelopeId: id}, nil
}

func (s *hubServer) MailboxFetch(ctx context.Context, req *hubv1.MailboxFetchRequest) (*hubv1.MailboxFetchResponse, error) {
	envs, err := s.impl.MailboxFetch(ctx, int(req.GetLimit()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &hubv1.MailboxFetchResponse{}
	for _, e := range envs {
		out.Envelopes = append(out.Envelopes, &hubv1.MailboxEnvelope{EnvelopeId: e.ID, Envelope: e.Envelope, ReceivedUnixMs: unixMs(e.Received)})
	}
	return out, nil
}

func (s *hubServer) MailboxAck(ctx context.Context, req *hubv1.MailboxAckRequest) (*hubv1.MailboxAckResponse, error) {
	return &hubv1.MailboxAckResponse{}, toStatus(s.impl.MailboxAck(ctx, req.GetEnvelopeIds()))
}

type hubClient struct {
	remotePlugin
	c hubv1.HubClient
}

// newHubClient binds a dispensed Hub client to its base.
func newHubClient(base *baseClient, raw any) Hub {
	return &hubClient{remotePlugin: remotePlugin{base: base}, c: raw.(hubv1.HubClient)}
}

func (h *hubClient) Login(ctx context.Context) (LoginResult, error) {
	r, err := h.c.Login(ctx, &hubv1.LoginRequest{})
	if err != nil {
		return LoginResult{}, fromStatus(err)
	}
	return LoginResult{NodeID: r.GetNodeId(), Expires: fromUnixMs(r.GetExpiresUnixMs())}, nil
}

func (h *hubClient) Logout(ctx context.Context) error {
	_, err := h.c.Logout(ctx, &hubv1.LogoutRequest{})
	return fromStatus(err)
}

func (h *hubClient) PublishPresence(ctx context.Context, p Presence) error {
	_, err := h.c.PublishPresence(ctx, &hubv1.PublishPresenceRequest{Status: p.Status, Uris: p.URIs, ProfileJson: p.ProfileJSON})
	return fromStatus(err)
}

func (h *hubClient) LookupPeer(ctx context.Context, nodeID string) (PeerRecord, error) {
	r, err := h.c.LookupPeer(ctx, &hubv1.LookupPeerRequest{NodeId: nodeID})
	if err != nil {
		return PeerRecord{}, fromStatus(err)
	}
	return peerFromProto(r.GetPeer()), nil
}

func (h *hubClient) SearchPeers(ctx context.Context, query string, limit int) ([]PeerRecord, error) {
	r, err := h.c.SearchPeers(ctx, &hubv1.SearchPeersRequest{Query: query, Limit: uint32(limit)})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out []PeerRecord
	for _, p := range r.GetPeers() {
		out = append(out, peerFromProto(p))
	}
	return out, nil
}

func (h *hubClient) SendSignal(ctx context.Context, s OutgoingSignal) error {
	_, err := h.c.SendSignal(ctx, &hubv1.SendSignalRequest{TargetNodeId: s.TargetNodeID, Type: s.Type, Payload: s.Payload})
	return fromStatus(err)
}

func (h *hubClient) Signals(ctx context.Context, fn func(IncomingSignal) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.c.Signals(ctx, &hubv1.SignalsRequest{})
	if err != nil {
		return fromStatus(err)
	}
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fromStatus(err)
		}
		if err := fn(IncomingSignal{SenderNodeID: in.GetSenderNodeId(), Type: in.GetType(), Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

func (h *hubClient) IceServers(ctx context.Context) ([]IceServer, error) {
	r, err := h.c.GetIceServers(ctx, &hubv1.GetIceServersRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out []IceServer
	for _, s := range r.GetServers() {
		out = append(out, IceServer{URLs: s.GetUrls(), Username: s.GetUsername(), Credential: s.GetCredential(),
			Expires: fromUnixMs(s.GetExpiresUnixMs())})
	}
	return out, nil
}

func (h *hubClient) MailboxPut(ctx context.Context, m MailboxPut) (string, error) {
	r, err := h.c.MailboxPut(ctx, &hubv1.MailboxPutRequest{RecipientNodeId: m.RecipientNodeID, Envelope: m.Envelope,
		TtlSeconds: uint32(m.TTL / time.Second)})
	if err != nil {
		return "", fromStatus(err)
	}
	return r.GetEnvelopeId(), nil
}

func (h *hubClient) MailboxFetch(ctx context.Context, limit int) ([]MailboxEnvelope, error) {
	r, err := h.c.MailboxFetch(ctx, &hubv1.MailboxFetchRequest{Limit: uint32(limit)})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out []MailboxEnvelope
	for _, e := range r.GetEnvelopes() {
		out = append(out, MailboxEnvelope{ID: e.GetEnvelopeId(), Envelope: e.GetEnvelope(), Received: fromUnixMs(e.GetReceivedUnixMs())})
	}
	return out, nil
}

func (h *hubClient) MailboxAck(ctx context.Context, ids []string) error {
	_, err := h.c.MailboxAck(ctx, &hubv1.MailboxAckRequest{EnvelopeIds: ids})
	return fromStatus(err)
}
