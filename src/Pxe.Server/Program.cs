using Pxe.Server.Cli;

return await PxeCommandLine.RunAsync(args);
