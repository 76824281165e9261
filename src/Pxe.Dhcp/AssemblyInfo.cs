namespace Pxe.Dhcp;
