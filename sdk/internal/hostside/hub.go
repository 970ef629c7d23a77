package hostside

import (
	"context"
	"errors"
	"io"
	"time"

	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

func peerFromProto(p *hubv1.PeerRecord) sdk.PeerRecord {
	return sdk.PeerRecord{NodeID: p.GetNodeId(), Online: p.GetOnline(), URIs: p.GetUris(), ProfileJSON: p.GetProfileJson(),
		LastSeen: wire.FromUnixMs(p.GetLastSeenUnixMs()), CertificatePEM: p.GetCertificatePem()}
}

type hubClient struct {
	remotePlugin
	c hubv1.HubClient
}

// newHubClient binds a dispensed Hub client to its base.
func newHubClient(base *Base, raw any) sdk.Hub {
	return &hubClient{remotePlugin: remotePlugin{base: base}, c: raw.(hubv1.HubClient)}
}

func hubSessionFromProto(s *hubv1.HubSession) sdk.HubSession {
	return sdk.HubSession{Data: s.GetData(), Expires: wire.FromUnixMs(s.GetExpiresUnixMs())}
}

func loginFromProto(r *hubv1.LoginResponse) sdk.LoginResult {
	return sdk.LoginResult{NodeID: r.GetNodeId(), Expires: wire.FromUnixMs(r.GetExpiresUnixMs()), Session: hubSessionFromProto(r.GetSession())}
}

func (h *hubClient) Login(ctx context.Context) (sdk.LoginResult, error) {
	r, err := h.c.Login(ctx, &hubv1.LoginRequest{})
	if err != nil {
		return sdk.LoginResult{}, wire.FromStatus(err)
	}
	return loginFromProto(r), nil
}

func (h *hubClient) Resume(ctx context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error) {
	r, err := h.c.Resume(ctx, &hubv1.ResumeRequest{Session: &hubv1.HubSession{Data: req.Session.Data, ExpiresUnixMs: wire.UnixMs(req.Session.Expires)}})
	if err != nil {
		return sdk.LoginResult{}, wire.FromStatus(err)
	}
	return loginFromProto(r), nil
}

func (h *hubClient) Logout(ctx context.Context) error {
	_, err := h.c.Logout(ctx, &hubv1.LogoutRequest{})
	return wire.FromStatus(err)
}

func (h *hubClient) PublishPresence(ctx context.Context, req sdk.PublishPresenceRequest) error {
	_, err := h.c.PublishPresence(ctx, &hubv1.PublishPresenceRequest{Status: req.Status, Uris: req.URIs, ProfileJson: req.ProfileJSON})
	return wire.FromStatus(err)
}

func (h *hubClient) LookupPeer(ctx context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
	r, err := h.c.LookupPeer(ctx, &hubv1.LookupPeerRequest{NodeId: req.NodeID})
	if err != nil {
		return sdk.LookupPeerResult{}, wire.FromStatus(err)
	}
	return sdk.LookupPeerResult{Peer: peerFromProto(r.GetPeer())}, nil
}

func (h *hubClient) SearchPeers(ctx context.Context, req sdk.SearchPeersRequest) (sdk.SearchPeersResult, error) {
	r, err := h.c.SearchPeers(ctx, &hubv1.SearchPeersRequest{Query: req.Query, Limit: uint32(req.Limit)})
	if err != nil {
		return sdk.SearchPeersResult{}, wire.FromStatus(err)
	}
	var out sdk.SearchPeersResult
	for _, p := range r.GetPeers() {
		out.Peers = append(out.Peers, peerFromProto(p))
	}
	return out, nil
}

func (h *hubClient) SendSignal(ctx context.Context, req sdk.SendSignalRequest) error {
	_, err := h.c.SendSignal(ctx, &hubv1.SendSignalRequest{TargetNodeId: req.TargetNodeID, Type: req.Type, Payload: req.Payload})
	return wire.FromStatus(err)
}

func (h *hubClient) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.c.Signals(ctx, &hubv1.SignalsRequest{})
	if err != nil {
		return wire.FromStatus(err)
	}
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wire.FromStatus(err)
		}
		if err := fn(sdk.IncomingSignal{SenderNodeID: in.GetSenderNodeId(), Type: in.GetType(), Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

func (h *hubClient) IceServers(ctx context.Context) ([]sdk.IceServer, error) {
	r, err := h.c.GetIceServers(ctx, &hubv1.GetIceServersRequest{})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return iceServersFromProto(r.GetServers()), nil
}

func (h *hubClient) MailboxPut(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	r, err := h.c.MailboxPut(ctx, &hubv1.MailboxPutRequest{RecipientNodeId: req.RecipientNodeID, Envelope: req.Envelope,
		TtlSeconds: uint32(req.TTL / time.Second)})
	if err != nil {
		return sdk.MailboxPutResult{}, wire.FromStatus(err)
	}
	return sdk.MailboxPutResult{EnvelopeID: r.GetEnvelopeId()}, nil
}

func (h *hubClient) MailboxFetch(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	r, err := h.c.MailboxFetch(ctx, &hubv1.MailboxFetchRequest{Limit: uint32(req.Limit)})
	if err != nil {
		return sdk.MailboxFetchResult{}, wire.FromStatus(err)
	}
	var out sdk.MailboxFetchResult
	for _, e := range r.GetEnvelopes() {
		out.Envelopes = append(out.Envelopes, sdk.MailboxEnvelope{ID: e.GetEnvelopeId(), Envelope: e.GetEnvelope(), Received: wire.FromUnixMs(e.GetReceivedUnixMs())})
	}
	return out, nil
}

func (h *hubClient) MailboxAck(ctx context.Context, req sdk.MailboxAckRequest) error {
	_, err := h.c.MailboxAck(ctx, &hubv1.MailboxAckRequest{EnvelopeIds: req.EnvelopeIDs})
	return wire.FromStatus(err)
}

func (h *hubClient) Accounts(ctx context.Context) (sdk.AccountsResult, error) {
	r, err := h.c.GetAccounts(ctx, &hubv1.GetAccountsRequest{})
	if err != nil {
		return sdk.AccountsResult{}, wire.FromStatus(err)
	}
	out := sdk.AccountsResult{Required: r.GetRequired()}
	for _, p := range r.GetProviders() {
		out.Providers = append(out.Providers, sdk.AccountProvider{Name: p.GetName(), DisplayName: p.GetDisplayName(), Kind: p.GetKind()})
	}
	for _, a := range r.GetAccounts() {
		out.Accounts = append(out.Accounts, sdk.Account{Provider: a.GetProvider(), Subject: a.GetSubject(), Email: a.GetEmail(), Name: a.GetName(),
			LinkedAt: wire.FromUnixMs(a.GetLinkedAtUnixMs())})
	}
	return out, nil
}

func (h *hubClient) LinkAccount(ctx context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	r, err := h.c.LinkAccount(ctx, &hubv1.LinkAccountRequest{Provider: req.Provider})
	if err != nil {
		return sdk.LinkAccountResult{}, wire.FromStatus(err)
	}
	return sdk.LinkAccountResult{URL: r.GetUrl(), Expires: wire.FromUnixMs(r.GetExpiresUnixMs())}, nil
}

func (h *hubClient) UnlinkAccount(ctx context.Context, req sdk.UnlinkAccountRequest) error {
	_, err := h.c.UnlinkAccount(ctx, &hubv1.UnlinkAccountRequest{Provider: req.Provider})
	return wire.FromStatus(err)
}
