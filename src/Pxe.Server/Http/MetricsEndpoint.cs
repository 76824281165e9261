using System.Globalization;
using System.Text;
using Pxe.Dhcp;
using Pxe.Profiles.Services;
using Pxe.Tftp.Server;

namespace Pxe.Server.Http;

/// <summary>
/// <c>GET /metrics</c>: the services' counters in the Prometheus text format (0.0.4), for scraping. Counters only, no
/// machine data, so it needs no token.
/// </summary>
internal static class MetricsEndpoint
{
    public static void Map(WebApplication app) =>
        app.MapGet("/metrics", (IServiceProvider services) =>
        {
            var sb = new StringBuilder();
            var events = services.GetRequiredService<EventLog>();
            Counter(sb, "pxe_events_dropped_total", "Observational events dropped because the event queue was full.", events.Dropped);
            Counter(sb, "pxe_events_failed_total", "Observational events lost because the store refused their batch.", events.Failed);
            if (services.GetService<DhcpServer>() is { } dhcp)
            {
                var c = dhcp.Counters;
                Counter(sb, "pxe_dhcp_received_total", "DHCP datagrams received.", c.Received);
                Counter(sb, "pxe_dhcp_bad_packets_total", "Malformed DHCP datagrams dropped.", c.BadPackets);
                Counter(sb, "pxe_dhcp_offers_total", "DHCPOFFERs sent.", c.Offers);
                Counter(sb, "pxe_dhcp_acks_total", "DHCPACKs sent.", c.Acks);
                Counter(sb, "pxe_dhcp_naks_total", "DHCPNAKs sent.", c.Naks);
                Counter(sb, "pxe_dhcp_ignored_total", "Requests not answered (unknown MAC policy, not for us).", c.Ignored);
                Counter(sb, "pxe_dhcp_store_failures_total", "Lease writes the store refused (no reply sent).", c.StoreFailures);
                Counter(sb, "pxe_dhcp_send_failures_total", "Replies that could not be sent.", c.SendFailures);
                Counter(sb, "pxe_dhcp_lease_commits_total", "Lease store transactions (group commits).", c.LeaseCommits);
                Counter(sb, "pxe_dhcp_lease_writes_total", "Lease writes sent to the store in those transactions.", c.LeaseWrites);
            }

            if (services.GetService<TftpServer>() is { } tftp)
            {
                var m = tftp.Metrics;
                Counter(sb, "pxe_tftp_transfers_started_total", "TFTP transfers started.", m.TransfersStarted);
                Counter(sb, "pxe_tftp_transfers_completed_total", "TFTP transfers completed.", m.TransfersCompleted);
                Counter(sb, "pxe_tftp_transfers_failed_total", "TFTP transfers that failed (retries exhausted, errors).", m.TransfersFailed);
                Counter(sb, "pxe_tftp_transfers_aborted_by_client_total", "TFTP transfers the client aborted (OVMF's size probe counts here).", m.TransfersAbortedByClient);
                Gauge(sb, "pxe_tftp_active_transfers", "TFTP transfers running now.", m.ActiveTransfers);
                Counter(sb, "pxe_tftp_bytes_sent_total", "TFTP payload bytes sent.", m.BytesSent);
                Counter(sb, "pxe_tftp_retransmissions_total", "TFTP packets sent again after a timeout.", m.Retransmissions);
                Counter(sb, "pxe_tftp_concurrent_limit_hits_total", "TFTP requests dropped at the concurrent-transfer limit.", m.ConcurrentLimitHits);
                Counter(sb, "pxe_tftp_bad_packets_total", "Malformed TFTP datagrams dropped.", m.BadPackets);
                Counter(sb, "pxe_tftp_files_not_found_total", "TFTP requests for files that do not exist.", m.FilesNotFound);
                Counter(sb, "pxe_tftp_access_violations_total", "TFTP requests refused (outside the root, not a regular file).", m.AccessViolations);
            }

            return Results.Text(sb.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        }).ExcludeFromDescription();

    private static void Counter(StringBuilder sb, string name, string help, long value) => Write(sb, name, help, "counter", value);

    private static void Gauge(StringBuilder sb, string name, string help, long value) => Write(sb, name, help, "gauge", value);

    private static void Write(StringBuilder sb, string name, string help, string type, long value) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
          .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
          .Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
