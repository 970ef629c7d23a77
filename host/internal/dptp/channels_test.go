package dptp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// hexIDs returns n distinct op ids in ascending order.
func hexIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i+1)
	}
	return ids
}

// TestValidateChannelPayloads checks the limits of the channel payloads,
// named after what a hostile or broken peer would send.
func TestValidateChannelPayloads(t *testing.T) {
	t.Parallel()
	s := samplePayloads()
	ops := s[CmdChannelOps].(ChannelOps)
	syn := s[CmdChannelSync].(ChannelSync)
	resp := s[CmdChannelSyncResponse].(ChannelSyncResponse)
	want := s[CmdChannelWant].(ChannelWant)

	opsWith := func(f func(*ChannelOps)) Payload { p := ops; f(&p); return p }
	syncWith := func(f func(*ChannelSync)) Payload { p := syn; f(&p); return p }
	respWith := func(f func(*ChannelSyncResponse)) Payload { p := resp; f(&p); return p }
	wantWith := func(f func(*ChannelWant)) Payload { p := want; f(&p); return p }
	opsOf := func(n, size int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = make([]byte, size)
		}
		return out
	}

	tests := map[string]validationCase{
		"ops ok":                              {ops, ""},
		"ops push":                            {opsWith(func(p *ChannelOps) { p.RequestID, p.More = "", false }), ""},
		"ops empty answer":                    {opsWith(func(p *ChannelOps) { p.Ops = nil }), ""},
		"ops empty push":                      {opsWith(func(p *ChannelOps) { p.RequestID, p.More, p.Ops = "", false, nil }), "ops"},
		"ops push says more":                  {opsWith(func(p *ChannelOps) { p.RequestID = "" }), "more"},
		"ops bad request id":                  {opsWith(func(p *ChannelOps) { p.RequestID = "a b" }), "request_id"},
		"ops no channel":                      {opsWith(func(p *ChannelOps) { p.ChannelID = "" }), "channel_id"},
		"ops upper-case channel":              {opsWith(func(p *ChannelOps) { p.ChannelID = strings.ToUpper(chanID) }), "channel_id"},
		"ops empty op":                        {opsWith(func(p *ChannelOps) { p.Ops = [][]byte{{1}, {}} }), "ops[1]"},
		"ops op at the limit":                 {opsWith(func(p *ChannelOps) { p.Ops = opsOf(1, MaxChannelOpLen) }), ""},
		"ops op over the limit":               {opsWith(func(p *ChannelOps) { p.Ops = opsOf(1, MaxChannelOpLen+1) }), "ops[0]"},
		"ops too many ops":                    {opsWith(func(p *ChannelOps) { p.Ops = opsOf(MaxChannelOps+1, 1) }), "ops"},
		"ops bytes at the limit":              {opsWith(func(p *ChannelOps) { p.Ops = opsOf(MaxChannelOpsBytes/(40<<10), 40<<10) }), ""},
		"ops bytes over the limit":            {opsWith(func(p *ChannelOps) { p.Ops = opsOf(MaxChannelOpsBytes/(40<<10)+1, 40<<10) }), "ops"},
		"sync ok":                             {syn, ""},
		"sync no heads":                       {syncWith(func(p *ChannelSync) { p.Heads, p.Count = nil, 0 }), ""},
		"sync no request id":                  {syncWith(func(p *ChannelSync) { p.RequestID = "" }), "request_id"},
		"sync short channel id":               {syncWith(func(p *ChannelSync) { p.ChannelID = chanID[:63] }), "channel_id"},
		"sync duplicate heads":                {syncWith(func(p *ChannelSync) { p.Heads = []string{opID1, opID1} }), "heads"},
		"sync unsorted heads":                 {syncWith(func(p *ChannelSync) { p.Heads = []string{opID2, opID1} }), "heads"},
		"sync non-hex head":                   {syncWith(func(p *ChannelSync) { p.Heads = []string{strings.Repeat("g", 64)} }), "heads[0]"},
		"sync heads at the limit":             {syncWith(func(p *ChannelSync) { p.Heads = hexIDs(MaxChannelHeads) }), ""},
		"sync heads over the limit":           {syncWith(func(p *ChannelSync) { p.Heads = hexIDs(MaxChannelHeads + 1) }), "heads"},
		"sync negative count":                 {syncWith(func(p *ChannelSync) { p.Count = -1 }), "count"},
		"sync negative page":                  {syncWith(func(p *ChannelSync) { p.Page = -1 }), "page"},
		"sync page beyond the last":           {syncWith(func(p *ChannelSync) { p.Page = MaxChannelPages }), "page"},
		"sync response ok":                    {resp, ""},
		"sync response nothing wanted":        {respWith(func(p *ChannelSyncResponse) { p.Want = nil }), ""},
		"sync response no pages":              {respWith(func(p *ChannelSyncResponse) { p.Pages = 0 }), "pages"},
		"sync response too many pages":        {respWith(func(p *ChannelSyncResponse) { p.Pages = MaxChannelPages + 1 }), "pages"},
		"sync response want over the limit":   {respWith(func(p *ChannelSyncResponse) { p.Want = hexIDs(MaxChannelWant + 1) }), "want"},
		"sync response duplicate want":        {respWith(func(p *ChannelSyncResponse) { p.Want = []string{opID1, opID1} }), "want"},
		"sync response negative count":        {respWith(func(p *ChannelSyncResponse) { p.Count = -5 }), "count"},
		"sync response bad head":              {respWith(func(p *ChannelSyncResponse) { p.Heads = []string{"x"} }), "heads[0]"},
		"want ok":                             {want, ""},
		"want no heads":                       {wantWith(func(p *ChannelWant) { p.Heads = nil }), ""},
		"want nothing":                        {wantWith(func(p *ChannelWant) { p.IDs = nil }), "ids"},
		"want at the limit":                   {wantWith(func(p *ChannelWant) { p.IDs = hexIDs(MaxChannelWant) }), ""},
		"want of a million ids":               {wantWith(func(p *ChannelWant) { p.IDs = hexIDs(1_000_000) }), "ids"},
		"want duplicate ids":                  {wantWith(func(p *ChannelWant) { p.IDs = []string{opID2, opID2} }), "ids"},
		"want heads over the limit":           {wantWith(func(p *ChannelWant) { p.Heads = hexIDs(MaxChannelHeads + 1) }), "heads"},
		"want no channel":                     {wantWith(func(p *ChannelWant) { p.ChannelID = "" }), "channel_id"},
		"want prefixed id":                    {wantWith(func(p *ChannelWant) { p.IDs = []string{"sha256:" + opID1[7:]} }), "ids[0]"},
		"want no request id":                  {wantWith(func(p *ChannelWant) { p.RequestID = "" }), "request_id"},
		"sync response have over the limit":   {respWith(func(p *ChannelSyncResponse) { p.Have = hexIDs(MaxChannelHave + 1) }), "have"},
		"sync response unsorted have":         {respWith(func(p *ChannelSyncResponse) { p.Have = []string{opID2, opID1} }), "have"},
		"want have at the limit":              {wantWith(func(p *ChannelWant) { p.Have = hexIDs(MaxChannelHave) }), ""},
		"want have over the limit":            {wantWith(func(p *ChannelWant) { p.Have = hexIDs(MaxChannelHave + 1) }), "have"},
		"want bad have":                       {wantWith(func(p *ChannelWant) { p.Have = []string{opID1[:10]} }), "have[0]"},
		"sync response heads at the limit":    {respWith(func(p *ChannelSyncResponse) { p.Heads = hexIDs(MaxChannelHeads) }), ""},
		"ops answer with request id and more": {opsWith(func(p *ChannelOps) { p.More = true }), ""},
	}
	runValidation(t, tests)
}

// TestChannelFramesFitStrangerLimit checks that the largest valid channel
// frames fit the 256 KiB a node reads from a peer that is not a contact, so
// that members who are not each other's contacts can sync.
func TestChannelFramesFitStrangerLimit(t *testing.T) {
	t.Parallel()
	const strangerMaxFrame = 256 << 10 // session.StrangerMaxFrame (not imported: dptp is below session)
	maxID := strings.Repeat("A", MaxIDLen)
	bigOps := make([][]byte, MaxChannelOpsBytes/MaxChannelOpLen)
	for i := range bigOps {
		bigOps[i] = bytes.Repeat([]byte{0xff}, MaxChannelOpLen)
	}
	manyOps := make([][]byte, MaxChannelOps)
	for i := range manyOps {
		manyOps[i] = bytes.Repeat([]byte{0xff}, MaxChannelOpsBytes/MaxChannelOps)
	}
	tests := map[string]Payload{
		"ops of the largest operations": ChannelOps{RequestID: maxID, ChannelID: chanID, Ops: bigOps, More: true},
		"ops of the most operations":    ChannelOps{RequestID: maxID, ChannelID: chanID, Ops: manyOps, More: true},
		"sync with the most heads":      ChannelSync{RequestID: maxID, ChannelID: chanID, Heads: hexIDs(MaxChannelHeads), Count: 1 << 62, Page: MaxChannelPages - 1},
		"sync response with the most":   ChannelSyncResponse{RequestID: maxID, Heads: hexIDs(MaxChannelHeads), Want: hexIDs(MaxChannelWant), Have: hexIDs(MaxChannelHave), Count: 1 << 62, Page: MaxChannelPages - 1, Pages: MaxChannelPages},
		"want with the most":            ChannelWant{RequestID: maxID, ChannelID: chanID, IDs: hexIDs(MaxChannelWant), Heads: hexIDs(MaxChannelHeads), Have: hexIDs(MaxChannelHave)},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw := mustEncode(t, p.Command(), p)
			if size := len(raw) - HeaderSize; size > strangerMaxFrame {
				t.Errorf("frame of %d bytes, want at most %d", size, strangerMaxFrame)
			}
		})
	}
}
