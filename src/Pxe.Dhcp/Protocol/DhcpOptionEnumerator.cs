namespace Pxe.Dhcp.Protocol;

/// <summary>One option occurrence: its code and the value bytes of this occurrence only.</summary>
internal readonly ref struct DhcpOption
{
    public DhcpOption(DhcpOptionCode code, ReadOnlySpan<byte> value)
    {
        Code = code;
        Value = value;
    }

    public DhcpOptionCode Code { get; }

    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// Allocation-free enumerator over the options of a validated <see cref="DhcpPacket"/>: skips Pad, stops each area
/// at End, and after the options field follows option 52 once into file, then sname (RFC 2131 §4.1). Repeated
/// occurrences of one code are yielded separately; <see cref="DhcpOptionReader"/> concatenates them (RFC 3396).
/// </summary>
internal ref struct DhcpOptionEnumerator
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly DhcpOverload _overload;
    private ReadOnlySpan<byte> _area;
    private int _areaIndex;
    private int _position;
    private DhcpOption _current;

    public DhcpOptionEnumerator(DhcpPacket packet)
    {
        _data = packet.Data;
        _overload = packet.Overload;
        _area = _data.IsEmpty ? default : _data[DhcpPacket.OptionsOffset..];
        _areaIndex = 0;
        _position = 0;
        _current = default;
    }

    public readonly DhcpOption Current => _current;

    public readonly DhcpOptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (true)
        {
            while (_position < _area.Length)
            {
                byte code = _area[_position];
                if (code == (byte)DhcpOptionCode.Pad)
                {
                    _position++;
                    continue;
                }

                if (code == (byte)DhcpOptionCode.End || _position + 1 >= _area.Length)
                {
                    break;
                }

                int length = _area[_position + 1];
                int start = _position + 2;
                if (start + length > _area.Length)
                {
                    break;
                }

                _current = new DhcpOption((DhcpOptionCode)code, _area.Slice(start, length));
                _position = start + length;
                return true;
            }

            if (!NextArea())
            {
                return false;
            }
        }
    }

    private bool NextArea()
    {
        _position = 0;
        if (_areaIndex == 0)
        {
            _areaIndex = 1;
            if ((_overload & DhcpOverload.File) != 0)
            {
                _area = _data.Slice(DhcpPacket.FileOffset, DhcpPacket.FileLength);
                return true;
            }
        }

        if (_areaIndex == 1)
        {
            _areaIndex = 2;
            if ((_overload & DhcpOverload.ServerName) != 0)
            {
                _area = _data.Slice(DhcpPacket.SnameOffset, DhcpPacket.SnameLength);
                return true;
            }
        }

        _area = default;
        return false;
    }
}
