from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.voice_sample_preview_response_model import (
    VoiceSamplePreviewResponseModel,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    voice_id: str,
    sample_id: str,
    *,
    remove_background_noise: bool | Unset = False,
    xi_api_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(xi_api_key, Unset):
        headers["xi-api-key"] = xi_api_key

    params: dict[str, Any] = {}

    params["remove_background_noise"] = remove_background_noise

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/voices/pvc/{voice_id}/samples/{sample_id}/audio".format(
            voice_id=quote(str(voice_id), safe=""),
            sample_id=quote(str(sample_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HTTPValidationError | VoiceSamplePreviewResponseModel | None:
    if response.status_code == 200:
        response_200 = VoiceSamplePreviewResponseModel.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[HTTPValidationError | VoiceSamplePreviewResponseModel]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    voice_id: str,
    sample_id: str,
    *,
    client: AuthenticatedClient | Client,
    remove_background_noise: bool | Unset = False,
    xi_api_key: None | str | Unset = UNSET,
) -> Response[HTTPValidationError | VoiceSamplePreviewResponseModel]:
    """Retrieve Voice Sample Audio

     Retrieve the first 30 seconds of voice sample audio with or without noise removal.

    Args:
        voice_id (str): Voice ID to be used, you can use https://api.elevenlabs.io/v1/voices to
            list all the available voices.
        sample_id (str): Sample ID to be used
        remove_background_noise (bool | Unset): If set will remove background noise for voice
            samples using our audio isolation model. If the samples do not include background noise,
            it can make the quality worse. Default: False.
        xi_api_key (None | str | Unset): Your API key. This is required by most endpoints to
            access our API programatically. You can view your xi-api-key using the 'Profile' tab on
            the website.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | VoiceSamplePreviewResponseModel]
    """

    kwargs = _get_kwargs(
        voice_id=voice_id,
        sample_id=sample_id,
        remove_background_noise=remove_background_noise,
        xi_api_key=xi_api_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    voice_id: str,
    sample_id: str,
    *,
    client: AuthenticatedClient | Client,
    remove_background_noise: bool | Unset = False,
    xi_api_key: None | str | Unset = UNSET,
) -> HTTPValidationError | VoiceSamplePreviewResponseModel | None:
    """Retrieve Voice Sample Audio

     Retrieve the first 30 seconds of voice sample audio with or without noise removal.

    Args:
        voice_id (str): Voice ID to be used, you can use https://api.elevenlabs.io/v1/voices to
            list all the available voices.
        sample_id (str): Sample ID to be used
        remove_background_noise (bool | Unset): If set will remove background noise for voice
            samples using our audio isolation model. If the samples do not include background noise,
            it can make the quality worse. Default: False.
        xi_api_key (None | str | Unset): Your API key. This is required by most endpoints to
            access our API programatically. You can view your xi-api-key using the 'Profile' tab on
            the website.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | VoiceSamplePreviewResponseModel
    """

    return sync_detailed(
        voice_id=voice_id,
        sample_id=sample_id,
        client=client,
        remove_background_noise=remove_background_noise,
        xi_api_key=xi_api_key,
    ).parsed


async def asyncio_detailed(
    voice_id: str,
    sample_id: str,
    *,
    client: AuthenticatedClient | Client,
    remove_background_noise: bool | Unset = False,
    xi_api_key: None | str | Unset = UNSET,
) -> Response[HTTPValidationError | VoiceSamplePreviewResponseModel]:
    """Retrieve Voice Sample Audio

     Retrieve the first 30 seconds of voice sample audio with or without noise removal.

    Args:
        voice_id (str): Voice ID to be used, you can use https://api.elevenlabs.io/v1/voices to
            list all the available voices.
        sample_id (str): Sample ID to be used
        remove_background_noise (bool | Unset): If set will remove background noise for voice
            samples using our audio isolation model. If the samples do not include background noise,
            it can make the quality worse. Default: False.
        xi_api_key (None | str | Unset): Your API key. This is required by most endpoints to
            access our API programatically. You can view your xi-api-key using the 'Profile' tab on
            the website.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | VoiceSamplePreviewResponseModel]
    """

    kwargs = _get_kwargs(
        voice_id=voice_id,
        sample_id=sample_id,
        remove_background_noise=remove_background_noise,
        xi_api_key=xi_api_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    voice_id: str,
    sample_id: str,
    *,
    client: AuthenticatedClient | Client,
    remove_background_noise: bool | Unset = False,
    xi_api_key: None | str | Unset = UNSET,
) -> HTTPValidationError | VoiceSamplePreviewResponseModel | None:
    """Retrieve Voice Sample Audio

     Retrieve the first 30 seconds of voice sample audio with or without noise removal.

    Args:
        voice_id (str): Voice ID to be used, you can use https://api.elevenlabs.io/v1/voices to
            list all the available voices.
        sample_id (str): Sample ID to be used
        remove_background_noise (bool | Unset): If set will remove background noise for voice
            samples using our audio isolation model. If the samples do not include background noise,
            it can make the quality worse. Default: False.
        xi_api_key (None | str | Unset): Your API key. This is required by most endpoints to
            access our API programatically. You can view your xi-api-key using the 'Profile' tab on
            the website.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | VoiceSamplePreviewResponseModel
    """

    return (
        await asyncio_detailed(
            voice_id=voice_id,
            sample_id=sample_id,
            client=client,
            remove_background_noise=remove_background_noise,
            xi_api_key=xi_api_key,
        )
    ).parsed
