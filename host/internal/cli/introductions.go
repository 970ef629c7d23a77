package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/introductions"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

func newIntroduceCmd(g *globals) *cobra.Command {
	var (
		to       []string
		validFor time.Duration
	)
	cmd := &cobra.Command{
		Use:   "introduce NODE_ID [--to CONTACT_ID]...",
		Short: "Vouch for a node to your contacts (a signed introduction)",
		Long: `introduce signs an introduction of NODE_ID ("I vouch for this node") with
your node key and gives it to the contacts named with --to, or to all your
contacts. Your node must have had a session with NODE_ID (it vouches for the
certificate NODE_ID presented). A contact that is offline gets it when it
next connects (dpc introductions shows it as queued until then).

On your contacts' nodes, NODE_ID is then in the firewall's built-in group
"introduced" for as long as you are their contact and the introduction has
not expired. What that group may do is up to each of them (by default,
nothing: see firewall.hcl).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, subject, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			recipients, err := resolvePeers(cmd.Context(), c, to)
			if err != nil {
				return err
			}
			req := api.IntroduceRequest{Subject: subject, To: recipients}
			if validFor != 0 {
				req.ValidFor = validFor.String()
			}
			var resp api.IntroduceResponse
			if err := c.Post(cmd.Context(), "/v1/introductions", req, &resp); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			count := map[string]int{}
			for _, d := range resp.Deliveries {
				count[d.Status]++
				if d.Error == "" {
					fmt.Fprintf(out, "%s: %s\n", d.To, d.Status)
				} else {
					fmt.Fprintf(out, "%s: %s: %s\n", d.To, d.Status, textsafe.Line(d.Error))
				}
			}
			if count[introductions.StatusRefused] == len(resp.Deliveries) {
				return fmt.Errorf("every contact refused the introduction of %s", subject)
			}
			fmt.Fprintf(out, "Introduced %s: delivered to %d, queued for %d, refused by %d.\n", subject,
				count[introductions.StatusDelivered], count[introductions.StatusQueued], count[introductions.StatusRefused])
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&to, "to", nil, "a contact to give the introduction to (repeatable; default: all contacts)")
	cmd.Flags().DurationVar(&validFor, "valid-for", 0, "how long the introduction is valid (default 8760h, a year)")
	_ = cmd.RegisterFlagCompletionFunc("to", g.completePeerFlag)
	return cmd
}

func newIntroductionsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "introductions",
		Short: "List who vouched for whom: introductions received and sent",
		Long: `introductions lists the introductions your contacts gave you (an active one
puts its subject in the firewall group "introduced": its voucher is still a
contact and it has not expired) and those you gave your contacts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var l introductions.List
			if err := c.Get(cmd.Context(), "/v1/introductions", &l); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), l)
			}
			printIntroductions(cmd.OutOrStdout(), l)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the introductions received and sent as one JSON object")
	return cmd
}

func printIntroductions(w io.Writer, l introductions.List) {
	expiry := func(e introductions.Entry) string {
		if e.Expires.IsZero() {
			return "never"
		}
		return e.Expires.Local().Format(time.DateTime)
	}
	if len(l.Received) == 0 {
		fmt.Fprintln(w, "No introductions received.")
	} else {
		fmt.Fprintln(w, "Received:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SUBJECT\tVOUCHED FOR BY\tEXPIRES\tACTIVE")
		for _, e := range l.Received {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%v\n", e.Subject, e.Voucher, expiry(e), e.Active)
		}
		_ = tw.Flush()
	}
	if len(l.Sent) == 0 {
		fmt.Fprintln(w, "No introductions sent.")
		return
	}
	fmt.Fprintln(w, "Sent:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SUBJECT\tGIVEN TO\tEXPIRES\tSTATE")
	for _, e := range l.Sent {
		state := "delivered"
		if e.Queued {
			state = "queued"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Subject, e.To, expiry(e), state)
	}
	_ = tw.Flush()
}
