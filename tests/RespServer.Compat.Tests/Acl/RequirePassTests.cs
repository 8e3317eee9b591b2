using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>requirepass is the default user's password: ACL shows its hash, CONFIG SET requirepass changes it.</summary>
public sealed class RequirePassTests(AuthServerPair servers) : IClassFixture<AuthServerPair>
{
    [Fact]
    public Task Requirepass_is_the_default_users_password()
        => Harness.Differential.AssertSameAsync(servers, new Script("requirepass and the default user")
            .Cmd("ACL", "WHOAMI").Cmd("AUTH", "pw").Cmd("ACL", "WHOAMI").Cmd("ACL", "LIST").Cmd("ACL", "GETUSER", "default")
            .Cmd("CONFIG", "SET", "requirepass", "pw2").Cmd("ACL", "LIST")
            .On(1).Cmd("AUTH", "pw").Cmd("AUTH", "default", "pw2").Cmd("ACL", "SETUSER", "default", "<pw2", ">pw").Cmd("CONFIG", "GET", "requirepass")
            .On(2).Cmd("PING").Cmd("AUTH", "pw").Cmd("ACL", "SETUSER", "default", "nopass").Cmd("AUTH", "x")
            .On(3).Cmd("PING").Cmd("ACL", "SETUSER", "default", "resetpass", ">pw").Cmd("CONFIG", "SET", "requirepass", "pw"));
}
