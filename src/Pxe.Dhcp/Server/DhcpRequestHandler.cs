using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>Where a datagram came from.</summary>
/// <param name="Interface">Name of the configured interface it arrived on.</param>
/// <param name="Remote">Source address and port.</param>
/// <param name="BootServerPort">True when it arrived on the PXE boot-server port (4011), proxy mode.</param>
internal readonly record struct ReceiveInfo(string Interface, IPEndPoint Remote, bool BootServerPort);

/// <summary>A reply to send, or none (<see cref="Length"/> 0).</summary>
/// <param name="Length">Bytes of the reply buffer to send.</param>
/// <param name="Destination">Where it goes per RFC 2131 §4.1.</param>
/// <param name="DirectTo">Set for boot-server replies, which go back to the request's source.</param>
/// <param name="ClientMac">chaddr, for a unicast to a client without an address.</param>
internal readonly record struct DhcpReply(int Length, ReplyDestination Destination, IPEndPoint? DirectTo, PhysicalAddress? ClientMac)
{
    public static DhcpReply None => default;
}

/// <summary>
/// Turns one datagram into at most one reply: parse, classify, consult the inventory and the lease index, commit
/// lease writes through the group committer, and write the reply. Every decision it takes is one of the pure
/// functions of the Protocol namespace; this class only sequences them around the asynchronous calls.
/// </summary>
internal sealed class DhcpRequestHandler
{
    private const string PxeClientVendorClass = "PXEClient";
    private const string HttpClientVendorClass = "HTTPClient";
    private static readonly byte[] IpxeNoProxyDhcpWaitOption = ReplyPlan.IpxeNoProxyDhcpWait.ToArray();

    private readonly DhcpServerOptions _options;
    private readonly DhcpSubnet[] _subnets;
    private readonly uint _serverId;
    private readonly uint _nextServer;
    private readonly string _httpBase;
    private readonly IBootInventory _inventory;
    private readonly LeaseManager _leases;
    private readonly InventoryRecorder _recorder;
    private readonly DhcpServerCounters _counters;
    private readonly ILogger _logger;
    private readonly ILogger _badPackets;
    private readonly TimeProvider _time;
    private readonly PxeMenuEntry[] _menu;
    private readonly byte[] _pxeVendorOptions;

    public DhcpRequestHandler(
        DhcpServerOptions options,
        IBootInventory inventory,
        LeaseManager leases,
        InventoryRecorder recorder,
        DhcpServerCounters counters,
        ILoggerFactory loggerFactory,
        TimeProvider time)
    {
        _options = options;
        _subnets = [.. options.Subnets.Select((s, i) => new DhcpSubnet(s, i))];
        _serverId = DhcpServerOptionsValidator.ToUInt32(options.ServerAddress!);
        _nextServer = DhcpServerOptionsValidator.ToUInt32(options.NextServer ?? options.ServerAddress!);
        _httpBase = DhcpServerOptionsValidator.EffectiveHttpBase(options);
        _inventory = inventory;
        _leases = leases;
        _recorder = recorder;
        _counters = counters;
        _logger = loggerFactory.CreateLogger("Pxe.Dhcp.Server");
        _badPackets = loggerFactory.CreateLogger("Pxe.Dhcp.BadPackets");
        _time = time;

        _menu = options.BootMenu is { } menu
            ? [.. menu.Items.Select(i => new PxeMenuEntry((ushort)i.Type, System.Text.Encoding.ASCII.GetBytes(i.Description), i.BootFile))]
            : [];
        Span<byte> vendor = stackalloc byte[1024];
        int length = options.BootMenu is { } m
            ? PxeVendorOptions.WriteMenu(vendor, _nextServer, _menu, (byte)m.TimeoutSeconds, System.Text.Encoding.ASCII.GetBytes(m.Prompt))
            : PxeVendorOptions.WriteDirectBoot(vendor);
        _pxeVendorOptions = vendor[..Math.Max(length, 0)].ToArray();
    }

    /// <summary>Handles one datagram. Never throws for bad input; store and inventory failures are logged and yield no reply.</summary>
    public async ValueTask<DhcpReply> HandleAsync(ReadOnlyMemory<byte> datagram, ReceiveInfo info, byte[] replyBuffer, CancellationToken cancellationToken)
    {
        var status = Parse(datagram.Span, out var request);
        if (status != DhcpParseStatus.Ok)
        {
            _counters.CountBad(status);
            if (_badPackets.IsEnabled(LogLevel.Debug))
            {
                Log.BadPacket(_badPackets, datagram.Length, info.Remote.ToString(), info.Interface, status);
            }

            return DhcpReply.None;
        }

        if (_options.Mode == DhcpMode.Proxy && !request!.Firmware.IsPxeClient)
        {
            // proxyDHCP answers PXE clients only (PXE 2.1 §2.2.4); ordinary clients belong to the network's DHCP server.
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.IgnoredNonPxe(_logger, FormatMac(request.Mac), request.TransactionId);
            }

            return DhcpReply.None;
        }

        DhcpMachine? machine;
        try
        {
            machine = await _inventory.FindByMacAsync(request!.Mac, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _counters.CountInventoryFailure();
            Log.InventoryFailed(_logger, ex, FormatMac(request!.Mac));
            return DhcpReply.None;
        }

        bool known = machine is { IsKnown: true };
        if (!known && _options.UnknownMacPolicy == UnknownMacPolicy.Ignore)
        {
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.IgnoredUnknownMac(_logger, FormatMac(request.Mac), request.TransactionId);
            }

            return DhcpReply.None;
        }

        if (!known && machine is null && request.MessageType is (DhcpMessageType.Discover or DhcpMessageType.Inform) && _recorder.RecordsDiscovered)
        {
            _recorder.Discovered(new DhcpDiscoveredClient
            {
                Mac = request.Mac,
                Architecture = request.Firmware.Architecture,
                VendorClass = request.VendorClass,
                UserClass = request.UserClass,
                ClientGuid = request.ClientGuid,
                HostName = request.HostName,
                Interface = info.Interface,
                RelayAddress = request.RelayAddress == 0 ? null : DhcpServerOptionsValidator.FromUInt32(request.RelayAddress),
                SeenAt = _time.GetUtcNow(),
            });
        }

        var context = new Context(request, info, known ? machine : null, replyBuffer);
        return _options.Mode == DhcpMode.Proxy
            ? HandleProxy(context)
            : await HandleFullAsync(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Validates the datagram and reads the request (synchronous: spans do not cross awaits).</summary>
    internal static DhcpParseStatus Parse(ReadOnlySpan<byte> datagram, out DhcpRequest? request)
    {
        request = null;
        var status = DhcpPacket.TryParse(datagram, out var packet);
        return status != DhcpParseStatus.Ok ? status : DhcpRequest.TryRead(packet, out request);
    }

    private async ValueTask<DhcpReply> HandleFullAsync(Context c, CancellationToken cancellationToken)
    {
        var r = c.Request;
        uint hint = r.ClientAddress != 0 ? r.ClientAddress : r.RequestedAddress;
        var subnet = SubnetSelector.Select(_subnets, r.RelayAddress, c.Info.Interface, hint);
        if (subnet is null)
        {
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.IgnoredNoSubnet(_logger, FormatMac(r.Mac), r.TransactionId, c.Info.Interface, FormatAddress(r.RelayAddress));
            }

            return DhcpReply.None;
        }

        uint reserved = c.Machine?.Reservation is { } reservation ? DhcpServerOptionsValidator.ToUInt32(reservation.Address) : 0;
        if (reserved != 0 && !subnet.IsHostAddress(reserved))
        {
            _counters.CountIgnored();
            Log.ReservationOffLink(_logger, FormatAddress(reserved), FormatMac(r.Mac), subnet.ToString());
            return DhcpReply.None;
        }

        switch (r.MessageType)
        {
            case DhcpMessageType.Discover:
                return await OfferAsync(c, subnet, reserved, cancellationToken).ConfigureAwait(false);
            case DhcpMessageType.Request:
                return await RequestAsync(c, subnet, reserved, cancellationToken).ConfigureAwait(false);
            case DhcpMessageType.Decline:
                await DeclineAsync(c).ConfigureAwait(false);
                return DhcpReply.None;
            case DhcpMessageType.Release:
                await ReleaseAsync(c).ConfigureAwait(false);
                return DhcpReply.None;
            case DhcpMessageType.Inform:
                _counters.CountInform();
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.Informed(_logger, FormatAddress(r.ClientAddress), FormatMac(r.Mac), r.TransactionId);
                }

                return Reply(c, Plan(c, DhcpMessageType.Ack, 0, subnet, withLease: false) with { ClientAddress = r.ClientAddress });
            default:
                _counters.CountIgnored();
                return DhcpReply.None;
        }
    }

    private async ValueTask<DhcpReply> OfferAsync(Context c, DhcpSubnet subnet, uint reserved, CancellationToken cancellationToken)
    {
        var r = c.Request;
        var now = _time.GetUtcNow();
        uint address;
        if (reserved != 0)
        {
            // A reservation is answered at once: no ping probe (dnsmasq's probe delays offers by 3 s), the store's commit is the check.
            if (!_leases.Read((reserved, r.ClientKey, now), static (index, a) => index.IsAvailableFor(a.reserved, a.ClientKey, a.now)))
            {
                var holder = _leases.Read(reserved, static (index, a) => index.Find(a)?.ClientKey ?? "");
                _counters.CountIgnored();
                Log.ReservationTaken(_logger, FormatAddress(reserved), FormatMac(r.Mac), holder);
                return DhcpReply.None;
            }

            address = reserved;
        }
        else
        {
            address = await ChoosePoolAddressAsync(r, subnet, now, cancellationToken).ConfigureAwait(false);
            if (address == 0)
            {
                _counters.CountIgnored();
                Log.PoolExhausted(_logger, FormatMac(r.Mac), subnet.ToString());
                return DhcpReply.None;
            }
        }

        var plan = Plan(c, DhcpMessageType.Offer, address, subnet, withLease: true);
        var reply = Reply(c, plan);
        if (reply.Length > 0)
        {
            _counters.CountOffer();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.Offered(_logger, FormatAddress(address), FormatMac(r.Mac), r.TransactionId, c.Info.Interface, plan.BootFile);
            }
        }

        return reply;
    }

    /// <summary>
    /// The client's current or previous address if still free, else the next free pool address (RFC 2131 §4.3.1),
    /// skipping addresses that the inventory reserves for other machines; the choice is held for the offer hold time.
    /// </summary>
    private async ValueTask<uint> ChoosePoolAddressAsync(DhcpRequest r, DhcpSubnet subnet, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = now + _options.OfferHoldTime;
        for (int attempt = 0; attempt < 16; attempt++)
        {
            uint address = _leases.Read((r, subnet, now, until), static (index, a) =>
            {
                uint chosen = index.FindClientAddress(a.r.ClientKey, a.subnet, a.now);
                if (chosen == 0 || !a.subnet.InPool(chosen))
                {
                    chosen = index.NextFromPool(a.subnet, a.r.ClientKey, a.now);
                }

                if (chosen != 0)
                {
                    index.HoldOffer(chosen, a.r.ClientKey, a.r.Mac, a.until);
                }

                return chosen;
            });

            if (address == 0)
            {
                return 0;
            }

            if (!await _inventory.IsAddressReservedAsync(DhcpServerOptionsValidator.FromUInt32(address), cancellationToken).ConfigureAwait(false))
            {
                return address;
            }

            _leases.Read((address, r.ClientKey, now), static (index, a) =>
            {
                index.DropOffer(a.ClientKey);
                index.MarkReservedElsewhere(a.address, a.now + TimeSpan.FromMinutes(5));
                return 0;
            });
        }

        return 0;
    }

    private async ValueTask<DhcpReply> RequestAsync(Context c, DhcpSubnet subnet, uint reserved, CancellationToken cancellationToken)
    {
        var r = c.Request;
        var state = RequestStateClassifier.Classify(r.ServerIdentifier, r.RequestedAddress, r.ClientAddress, out uint address);
        if (state == DhcpRequestState.Invalid)
        {
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.InvalidRequestState(_logger, FormatMac(r.Mac), r.TransactionId);
            }

            return DhcpReply.None;
        }

        if (state == DhcpRequestState.Selecting && r.ServerIdentifier != _serverId)
        {
            // The client chose another server's offer: ours returns to the pool (RFC 2131 §4.3.2).
            _leases.Read(r.ClientKey, static (index, key) =>
            {
                index.DropOffer(key);
                return 0;
            });
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.IgnoredOtherServer(_logger, FormatMac(r.Mac), r.TransactionId, FormatAddress(r.ServerIdentifier));
            }

            return DhcpReply.None;
        }

        var now = _time.GetUtcNow();
        string? nak = null;
        bool renewal = false;
        if (!subnet.IsHostAddress(address))
        {
            nak = $"{FormatAddress(address)} is not on the client's subnet {subnet}";
        }
        else if (reserved != 0)
        {
            if (address != reserved)
            {
                nak = $"the machine's reserved address is {FormatAddress(reserved)}";
            }
            else
            {
                renewal = _leases.Read((address, r.ClientKey), static (index, a) => index.Find(a.address) is { State: LeaseIndex.EntryState.Bound } e && e.ClientKey == a.ClientKey);
            }
        }
        else
        {
            var (mine, available, bound) = _leases.Read((address, r.ClientKey, now), static (index, a) =>
            {
                var entry = index.Find(a.address);
                return (index.IsClientAddress(a.address, a.ClientKey),
                        index.IsAvailableFor(a.address, a.ClientKey, a.now),
                        entry is { State: LeaseIndex.EntryState.Bound } && entry.ClientKey == a.ClientKey);
            });
            renewal = bound;
            if (!available)
            {
                nak = $"{FormatAddress(address)} is held by another client";
            }
            else if (!mine && state == DhcpRequestState.InitReboot)
            {
                // RFC 2131 §4.3.2: with no record of the client, remain silent.
                _counters.CountIgnored();
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.IgnoredNoRecord(_logger, FormatMac(r.Mac), r.TransactionId, FormatAddress(address), state);
                }

                return DhcpReply.None;
            }
            else if (!mine && !subnet.InPool(address))
            {
                nak = $"{FormatAddress(address)} is outside the pool and not leased to this client";
            }
            else if (!mine && await _inventory.IsAddressReservedAsync(DhcpServerOptionsValidator.FromUInt32(address), cancellationToken).ConfigureAwait(false))
            {
                nak = $"{FormatAddress(address)} is reserved for another machine";
            }
        }

        if (nak is not null)
        {
            return Nak(c, address, nak);
        }

        var lease = new DhcpLease
        {
            Address = DhcpServerOptionsValidator.FromUInt32(address),
            ClientId = r.ClientKey,
            Mac = r.Mac,
            State = DhcpLeaseState.Bound,
            Starts = now,
            Expires = now + TimeSpan.FromSeconds(subnet.LeaseSeconds),
            HostName = r.HostName,
        };

        LeaseWriteResult result;
        try
        {
            result = await _leases.CommitAsync(new LeaseWrite(LeaseWriteKind.Bind, lease, now)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _counters.CountStoreFailure();
            Log.StoreFailed(_logger, ex, 1);
            return DhcpReply.None;
        }

        if (result.Outcome != LeaseWriteOutcome.Committed)
        {
            if (reserved != 0)
            {
                Log.ReservationTaken(_logger, FormatAddress(address), FormatMac(r.Mac), result.Current?.ClientId ?? "");
            }

            return Nak(c, address, $"{FormatAddress(address)} is leased to another client in the store");
        }

        var plan = Plan(c, DhcpMessageType.Ack, address, subnet, withLease: true) with { ClientAddress = r.ClientAddress };
        var reply = Reply(c, plan);
        if (reply.Length > 0)
        {
            _counters.CountAck();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.Acknowledged(_logger, FormatAddress(address), FormatMac(r.Mac), r.TransactionId, c.Info.Interface, state, plan.BootFile);
            }
        }

        if (_recorder.RecordsLeaseEvents)
        {
            _recorder.LeaseEvent(new DhcpLeaseEvent(renewal ? DhcpLeaseEventKind.Renewed : DhcpLeaseEventKind.Bound, result.Current ?? lease, now));
        }

        return reply;
    }

    private async ValueTask DeclineAsync(Context c)
    {
        var r = c.Request;
        uint address = r.RequestedAddress;
        if (address == 0 || (r.ServerIdentifier != 0 && r.ServerIdentifier != _serverId)
            || !_leases.Read((address, r.ClientKey), static (index, a) => index.IsClientAddress(a.address, a.ClientKey)))
        {
            _counters.CountIgnored();
            return;
        }

        var now = _time.GetUtcNow();
        var until = now + _options.DeclineQuarantine;
        var lease = new DhcpLease
        {
            Address = DhcpServerOptionsValidator.FromUInt32(address),
            ClientId = r.ClientKey,
            Mac = r.Mac,
            State = DhcpLeaseState.Declined,
            Starts = now,
            Expires = until,
        };

        try
        {
            await _leases.CommitAsync(new LeaseWrite(LeaseWriteKind.Decline, lease, now)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _counters.CountStoreFailure();
            Log.StoreFailed(_logger, ex, 1);
            return;
        }

        _counters.CountDecline();
        Log.Declined(_logger, FormatAddress(address), FormatMac(r.Mac), until);
        _recorder.LeaseEvent(new DhcpLeaseEvent(DhcpLeaseEventKind.Declined, lease, now));
    }

    private async ValueTask ReleaseAsync(Context c)
    {
        var r = c.Request;
        uint address = r.ClientAddress;
        if (address == 0 || (r.ServerIdentifier != 0 && r.ServerIdentifier != _serverId))
        {
            _counters.CountIgnored();
            return;
        }

        var now = _time.GetUtcNow();
        var previous = _leases.Read(address, static (index, a) => index.Find(a));
        var lease = new DhcpLease
        {
            Address = DhcpServerOptionsValidator.FromUInt32(address),
            ClientId = r.ClientKey,
            Mac = r.Mac,
            State = DhcpLeaseState.Released,
            Starts = previous?.Starts ?? now,
            Expires = now,
            HostName = previous?.HostName,
        };

        LeaseWriteResult result;
        try
        {
            result = await _leases.CommitAsync(new LeaseWrite(LeaseWriteKind.Release, lease, now)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _counters.CountStoreFailure();
            Log.StoreFailed(_logger, ex, 1);
            return;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Released(_logger, FormatAddress(address), FormatMac(r.Mac), result.Outcome);
        }

        if (result.Outcome == LeaseWriteOutcome.Committed)
        {
            _counters.CountRelease();
            _recorder.LeaseEvent(new DhcpLeaseEvent(DhcpLeaseEventKind.Released, result.Current ?? lease, now));
        }
        else
        {
            _counters.CountIgnored();
        }
    }

    /// <summary>proxyDHCP (PXE 2.1 §2.2.4): boot information only, never an address.</summary>
    private DhcpReply HandleProxy(Context c)
    {
        var r = c.Request;
        DhcpMessageType replyType;
        if (c.Info.BootServerPort)
        {
            // Boot-server exchange on 4011: the client already has an address and asks for its boot file.
            if (r.MessageType is not (DhcpMessageType.Request or DhcpMessageType.Inform))
            {
                _counters.CountIgnored();
                return DhcpReply.None;
            }

            replyType = DhcpMessageType.Ack;
        }
        else if (r.MessageType == DhcpMessageType.Discover)
        {
            replyType = DhcpMessageType.Offer;
        }
        else if (r.MessageType == DhcpMessageType.Request && r.ServerIdentifier == _serverId)
        {
            replyType = DhcpMessageType.Ack;
        }
        else
        {
            _counters.CountIgnored();
            return DhcpReply.None;
        }

        var loader = c.Machine?.BootLoader ?? _options.DefaultBootLoader;
        string? bootFile;
        byte[] vendorOptions = _pxeVendorOptions;
        if (c.Info.BootServerPort && r.PxeBootItem is { } item)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(item);
            bootFile = _menu.FirstOrDefault(e => e.Type == type)?.BootFile
                ?? BootFileSelector.Select(r.Firmware, loader, _options.BootFiles, _httpBase).BootFile;
            Span<byte> echo = stackalloc byte[8];
            int n = PxeVendorOptions.WriteBootItem(echo, item);
            vendorOptions = echo[..Math.Max(n, 0)].ToArray();
        }
        else if (_menu.Length > 0 && !c.Info.BootServerPort)
        {
            // With a menu the ROM shows it, then asks the boot server for the chosen item's file.
            bootFile = null;
        }
        else
        {
            bootFile = BootFileSelector.Select(r.Firmware, loader, _options.BootFiles, _httpBase).BootFile;
        }

        var plan = new ReplyPlan
        {
            MessageType = replyType,
            ClientAddress = replyType == DhcpMessageType.Ack ? r.ClientAddress : 0,
            NextServer = _nextServer,
            ServerIdentifier = _serverId,
            BootFile = bootFile,
            VendorClass = PxeClientVendorClass,
            VendorOptions = vendorOptions,
            EchoClientMachineIdentifier = true,
        };

        IPEndPoint? direct = null;
        if (c.Info.BootServerPort)
        {
            var to = r.ClientAddress != 0 ? DhcpServerOptionsValidator.FromUInt32(r.ClientAddress) : c.Info.Remote.Address;
            direct = new IPEndPoint(to, c.Info.Remote.Port);
        }

        var reply = Reply(c, plan, direct);
        if (reply.Length > 0)
        {
            if (replyType == DhcpMessageType.Offer)
            {
                _counters.CountOffer();
            }
            else
            {
                _counters.CountAck();
            }

            if (_logger.IsEnabled(LogLevel.Debug))
            {
                if (c.Info.BootServerPort)
                {
                    Log.BootServerAcknowledged(_logger, c.Info.Remote.ToString(), FormatMac(r.Mac), r.TransactionId, bootFile);
                }
                else
                {
                    Log.ProxyOffered(_logger, FormatMac(r.Mac), r.TransactionId, c.Info.Interface, bootFile);
                }
            }
        }

        return reply;
    }

    /// <summary>The options of an OFFER or ACK in full mode: subnet values, overridden by the machine's reservation.</summary>
    private ReplyPlan Plan(Context c, DhcpMessageType type, uint address, DhcpSubnet subnet, bool withLease)
    {
        var reservation = c.Machine?.Reservation;
        var loader = c.Machine?.BootLoader ?? _options.DefaultBootLoader;
        var boot = BootFileSelector.Select(c.Request.Firmware, loader, _options.BootFiles, _httpBase);
        return new ReplyPlan
        {
            MessageType = type,
            YourAddress = address,
            NextServer = _nextServer,
            ServerIdentifier = _serverId,
            LeaseSeconds = withLease ? subnet.LeaseSeconds : 0,
            PrefixLength = reservation is { PrefixLength: > 0 and <= 32 } ? reservation.PrefixLength : subnet.PrefixLength,
            Router = reservation?.Gateway is { } gateway ? DhcpServerOptionsValidator.ToUInt32(gateway) : subnet.Router,
            DnsServers = reservation is { DnsServers.Count: > 0 } ? [.. reservation.DnsServers.Select(DhcpServerOptionsValidator.ToUInt32)] : subnet.DnsServers,
            DomainName = subnet.DomainName,
            HostName = reservation?.HostName,
            BootFile = boot.BootFile,
            VendorClass = boot.EchoHttpClient ? HttpClientVendorClass : null,
            IpxeOptions = c.Request.Firmware.IsIpxe ? IpxeNoProxyDhcpWaitOption : null,
        };
    }

    private DhcpReply Nak(Context c, uint address, string reason)
    {
        var r = c.Request;
        var reply = Reply(c, new ReplyPlan { MessageType = DhcpMessageType.Nak, ServerIdentifier = _serverId, Message = reason });
        if (reply.Length > 0)
        {
            _counters.CountNak();
            Log.NotAcknowledged(_logger, FormatAddress(address), FormatMac(r.Mac), r.TransactionId, c.Info.Interface, reason);
        }

        return reply;
    }

    private DhcpReply Reply(Context c, ReplyPlan plan, IPEndPoint? direct = null)
    {
        var status = ReplyBuilder.Write(c.ReplyBuffer, c.Request, plan, out int length);
        if (status != DhcpWriteStatus.Ok)
        {
            Log.ReplyNotWritten(_logger, FormatMac(c.Request.Mac), status, plan.BootFile);
            return DhcpReply.None;
        }

        var destination = ReplyAddressing.Decide(c.Request.RelayAddress, c.Request.ClientAddress, c.Request.IsBroadcast, plan.MessageType, plan.YourAddress);
        return new DhcpReply(length, destination, direct, c.Request.Mac);
    }

    internal static string FormatMac(PhysicalAddress mac)
        => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    internal static string FormatAddress(uint address) => DhcpServerOptionsValidator.FromUInt32(address).ToString();

    private sealed record Context(DhcpRequest Request, ReceiveInfo Info, DhcpMachine? Machine, byte[] ReplyBuffer);
}
