package sdk

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

func peerToProto(p PeerRecord) *hubv1.PeerRecord {
	return &hubv1.PeerRecord{NodeId: p.NodeID, Online: p.Online, Uris: p.URIs, ProfileJson: p.ProfileJSON,
		LastSeenUnixMs: wire.UnixMs(p.LastSeen), CertificatePem: p.CertificatePEM}
}

type hubServer struct {
	hubv1.UnimplementedHubServer
	impl Hub
}

func hubSessionToProto(s HubSession) *hubv1.HubSession {
	return &hubv1.HubSession{Data: s.Data, ExpiresUnixMs: wire.UnixMs(s.Expires)}
}

func hubSessionFromProto(s *hubv1.HubSession) HubSession {
	return HubSession{Data: s.GetData(), Expires: wire.FromUnixMs(s.GetExpiresUnixMs())}
}

func loginToProto(r LoginResult) *hubv1.LoginResponse {
	return &hubv1.LoginResponse{NodeId: r.NodeID, ExpiresUnixMs: wire.UnixMs(r.Expires), Session: hubSessionToProto(r.Session)}
}

func (s *hubServer) Login(ctx context.Context, _ *hubv1.LoginRequest) (*hubv1.LoginResponse, error) {
	r, err := s.impl.Login(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return loginToProto(r), nil
}

func (s *hubServer) Resume(ctx context.Context, req *hubv1.ResumeRequest) (*hubv1.LoginResponse, error) {
	r, err := s.impl.Resume(ctx, ResumeRequest{Session: hubSessionFromProto(req.GetSession())})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return loginToProto(r), nil
}

func (s *hubServer) Logout(ctx context.Context, _ *hubv1.LogoutRequest) (*hubv1.LogoutResponse, error) {
	return &hubv1.LogoutResponse{}, wire.ToStatus(s.impl.Logout(ctx))
}

func (s *hubServer) PublishPresence(ctx context.Context, req *hubv1.PublishPresenceRequest) (*hubv1.PublishPresenceResponse, error) {
	err := s.impl.PublishPresence(ctx, PublishPresenceRequest{Status: req.GetStatus(), URIs: req.GetUris(), ProfileJSON: req.GetProfileJson()})
	return &hubv1.PublishPresenceResponse{}, wire.ToStatus(err)
}

func (s *hubServer) LookupPeer(ctx context.Context, req *hubv1.LookupPeerRequest) (*hubv1.LookupPeerResponse, error) {
	r, err := s.impl.LookupPeer(ctx, LookupPeerRequest{NodeID: req.GetNodeId()})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hubv1.LookupPeerResponse{Peer: peerToProto(r.Peer)}, nil
}

func (s *hubServer) SearchPeers(ctx context.Context, req *hubv1.SearchPeersRequest) (*hubv1.SearchPeersResponse, error) {
	r, err := s.impl.SearchPeers(ctx, SearchPeersRequest{Query: req.GetQuery(), Limit: int(req.GetLimit())})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &hubv1.SearchPeersResponse{}
	for _, p := range r.Peers {
		out.Peers = append(out.Peers, peerToProto(p))
	}
	return out, nil
}

func (s *hubServer) SendSignal(ctx context.Context, req *hubv1.SendSignalRequest) (*hubv1.SendSignalResponse, error) {
	err := s.impl.SendSignal(ctx, SendSignalRequest{TargetNodeID: req.GetTargetNodeId(), Type: req.GetType(), Payload: req.GetPayload()})
	return &hubv1.SendSignalResponse{}, wire.ToStatus(err)
}

func (s *hubServer) Signals(_ *hubv1.SignalsRequest, stream grpc.ServerStreamingServer[hubv1.IncomingSignal]) error {
	err := s.impl.Signals(stream.Context(), func(in IncomingSignal) error {
		return stream.Send(&hubv1.IncomingSignal{SenderNodeId: in.SenderNodeID, Type: in.Type, Payload: in.Payload})
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return wire.ToStatus(err)
}

func (s *hubServer) GetIceServers(ctx context.Context, _ *hubv1.GetIceServersRequest) (*hubv1.GetIceServersResponse, error) {
	servers, err := s.impl.IceServers(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hubv1.GetIceServersResponse{Servers: iceServersToProto(servers)}, nil
}

func (s *hubServer) MailboxPut(ctx context.Context, req *hubv1.MailboxPutRequest) (*hubv1.MailboxPutResponse, error) {
	r, err := s.impl.MailboxPut(ctx, MailboxPutRequest{RecipientNodeID: req.GetRecipientNodeId(), Envelope: req.GetEnvelope(),
		TTL: time.Duration(req.GetTtlSeconds()) * time.Second})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hubv1.MailboxPutResponse{EnvelopeId: r.EnvelopeID}, nil
}

func (s *hubServer) MailboxFetch(ctx context.Context, req *hubv1.MailboxFetchRequest) (*hubv1.MailboxFetchResponse, error) {
	r, err := s.impl.MailboxFetch(ctx, MailboxFetchRequest{Limit: int(req.GetLimit())})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &hubv1.MailboxFetchResponse{}
	for _, e := range r.Envelopes {
		out.Envelopes = append(out.Envelopes, &hubv1.MailboxEnvelope{EnvelopeId: e.ID, Envelope: e.Envelope, ReceivedUnixMs: wire.UnixMs(e.Received)})
	}
	return out, nil
}

func (s *hubServer) MailboxAck(ctx context.Context, req *hubv1.MailboxAckRequest) (*hubv1.MailboxAckResponse, error) {
	return &hubv1.MailboxAckResponse{}, wire.ToStatus(s.impl.MailboxAck(ctx, MailboxAckRequest{EnvelopeIDs: req.GetEnvelopeIds()}))
}

func (s *hubServer) GetAccounts(ctx context.Context, _ *hubv1.GetAccountsRequest) (*hubv1.GetAccountsResponse, error) {
	r, err := s.impl.Accounts(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &hubv1.GetAccountsResponse{Required: r.Required}
	for _, p := range r.Providers {
		out.Providers = append(out.Providers, &hubv1.AccountProvider{Name: p.Name, DisplayName: p.DisplayName, Kind: p.Kind})
	}
	for _, a := range r.Accounts {
		out.Accounts = append(out.Accounts, &hubv1.Account{Provider: a.Provider, Subject: a.Subject, Email: a.Email, Name: a.Name,
			LinkedAtUnixMs: wire.UnixMs(a.LinkedAt)})
	}
	return out, nil
}

func (s *hubServer) LinkAccount(ctx context.Context, req *hubv1.LinkAccountRequest) (*hubv1.LinkAccountResponse, error) {
	r, err := s.impl.LinkAccount(ctx, LinkAccountRequest{Provider: req.GetProvider()})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hubv1.LinkAccountResponse{Url: r.URL, ExpiresUnixMs: wire.UnixMs(r.Expires)}, nil
}

func (s *hubServer) UnlinkAccount(ctx context.Context, req *hubv1.UnlinkAccountRequest) (*hubv1.UnlinkAccountResponse, error) {
	return &hubv1.UnlinkAccountResponse{}, wire.ToStatus(s.impl.UnlinkAccount(ctx, UnlinkAccountRequest{Provider: req.GetProvider()}))
}
