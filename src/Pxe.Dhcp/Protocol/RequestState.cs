namespace Pxe.Dhcp.Protocol;

/// <summary>The client state a DHCPREQUEST comes from (RFC 2131 §4.3.2).</summary>
internal enum DhcpRequestState
{
    /// <summary>Not a valid combination of options 50, 54 and ciaddr.</summary>
    Invalid,

    /// <summary>Option 54 present: the client answers an OFFER; option 50 holds the address.</summary>
    Selecting,

    /// <summary>No option 54, option 50 present, ciaddr 0: a client verifying a remembered address after reboot.</summary>
    InitReboot,

    /// <summary>No option 54 or 50, ciaddr set: extending a lease (unicast RENEWING or broadcast REBINDING).</summary>
    RenewingOrRebinding,
}

/// <summary>RFC 2131 §4.3.2 request classification.</summary>
internal static class RequestStateClassifier
{
    /// <summary>
    /// Classifies a request and returns the address it is about: option 50 when SELECTING or INIT-REBOOT, ciaddr when
    /// RENEWING or REBINDING. A SELECTING client that put its address in ciaddr instead of option 50 is tolerated.
    /// </summary>
    public static DhcpRequestState Classify(uint serverIdentifier, uint requestedAddress, uint clientAddress, out uint address)
    {
        if (serverIdentifier != 0)
        {
            address = requestedAddress != 0 ? requestedAddress : clientAddress;
            return address != 0 ? DhcpRequestState.Selecting : DhcpRequestState.Invalid;
        }

        if (clientAddress != 0)
        {
            address = clientAddress;
            return DhcpRequestState.RenewingOrRebinding;
        }

        if (requestedAddress != 0)
        {
            address = requestedAddress;
            return DhcpRequestState.InitReboot;
        }

        address = 0;
        return DhcpRequestState.Invalid;
    }
}
